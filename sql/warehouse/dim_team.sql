-- Teams (type 1): business unit, region and parent team; inferred for referenced unknown teams.
insert into dw.dim_team (team_id, name, business_unit, region_code, parent_team_id, is_inferred)
with known as (
    select
        t.team_id,
        t.name,
        t.business_unit,
        t.region_code,
        t.parent_team_id,
        false as is_inferred
    from staging.team as t
),

referenced as (
    select a.team_id from staging.employee_assignment as a
    union
    select t.parent_team_id from staging.team as t
),

inferred as (
    select
        r.team_id,
        '(unknown ' || r.team_id || ')' as name,
        null::text as business_unit,
        null::text as region_code,
        null::text as parent_team_id,
        true as is_inferred
    from referenced as r
    where
        r.team_id is not null
        and not exists (select 1 from known as k where k.team_id = r.team_id)
),

final as (
    select * from known
    union all
    select * from inferred
)

select
    team_id,
    name,
    business_unit,
    region_code,
    parent_team_id,
    is_inferred
from final
on conflict (team_id) do update
    set
        name = excluded.name,
        business_unit = excluded.business_unit,
        region_code = excluded.region_code,
        parent_team_id = excluded.parent_team_id,
        is_inferred = excluded.is_inferred
    where (
        dim_team.name, dim_team.business_unit, dim_team.region_code, dim_team.parent_team_id,
        dim_team.is_inferred
    )
    is distinct from (
        excluded.name, excluded.business_unit, excluded.region_code, excluded.parent_team_id,
        excluded.is_inferred
    );
