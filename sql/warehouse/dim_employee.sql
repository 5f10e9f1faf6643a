-- Employee, SCD type 2, derived in full from staging.employee_assignment:
-- assignments are cut at left_on; gaps (leave and rejoin) and the time after
-- leaving become inactive versions; adjacent versions with identical
-- attributes merge. Ids that facts or the hierarchy name but the source has
-- not delivered get an inferred member, overwritten in place once known.
create temporary table tmp_dim_employee on commit drop as
with assignments as (
    select
        a.employee_id,
        a.valid_from,
        least(coalesce(a.valid_to, 'infinity'), coalesce(e.left_on, 'infinity')) as valid_to,
        a.role,
        a.team_id,
        a.manager_id
    from staging.employee_assignment as a
    left join staging.employee as e on a.employee_id = e.employee_id
    where a.valid_from < coalesce(e.left_on, 'infinity')
),

ordered as (
    select
        a.*,
        lead(a.valid_from) over (partition by a.employee_id order by a.valid_from) as next_from
    from assignments as a
),

active as (
    select
        o.employee_id,
        o.valid_from,
        -- overlapping source rows: the later assignment wins from its start
        least(o.valid_to, coalesce(o.next_from, 'infinity')) as valid_to,
        true as is_active,
        o.role,
        o.team_id,
        o.manager_id
    from ordered as o
),

gaps as (
    select
        o.employee_id,
        o.valid_to as valid_from,
        coalesce(o.next_from, 'infinity') as valid_to,
        false as is_active,
        null::text as role,
        null::text as team_id,
        null::text as manager_id
    from ordered as o
    where o.valid_to < coalesce(o.next_from, 'infinity')
),

without_assignment as (
    select
        e.employee_id,
        coalesce(e.hired_on, date '1900-01-01') as valid_from,
        coalesce(e.left_on, 'infinity') as valid_to,
        true as is_active,
        null::text as role,
        null::text as team_id,
        null::text as manager_id
    from staging.employee as e
    where
        not exists (select 1 from staging.employee_assignment as a where a.employee_id = e.employee_id)
        and coalesce(e.hired_on, date '1900-01-01') < coalesce(e.left_on, 'infinity')
),

pieces as (
    select * from active
    union all
    select * from gaps
    union all
    select * from without_assignment
),

previous as (
    select
        p.*,
        lag(p.valid_to) over w as prev_to,
        md5(jsonb_build_array(p.is_active, p.role, p.team_id, p.manager_id)::text) as attr_hash,
        lag(md5(jsonb_build_array(p.is_active, p.role, p.team_id, p.manager_id)::text)) over w as prev_hash
    from pieces as p
    where p.valid_to > p.valid_from
    window w as (partition by p.employee_id order by p.valid_from)
),

islands as (
    select
        p.*,
        case when p.prev_to = p.valid_from and p.prev_hash = p.attr_hash then 0 else 1 end as starts_island
    from previous as p
),

numbered as (
    select
        i.*,
        sum(i.starts_island) over (partition by i.employee_id order by i.valid_from) as island_no
    from islands as i
),

merged as (
    select
        n.employee_id,
        n.island_no,
        min(n.valid_from) as valid_from,
        max(n.valid_to) as valid_to,
        bool_and(n.is_active) as is_active,
        min(n.role) as role,
        min(n.team_id) as team_id,
        min(n.manager_id) as manager_id
    from numbered as n
    group by n.employee_id, n.island_no
),

-- ids named by rows loaded since the watermark, plus those already inferred
referenced as (
    select l.owner_id as employee_id from staging.lead as l
    where l.loaded_at >= :since
    union
    select h.owner_id from staging.lead_history as h
    where h.loaded_at >= :since
    union
    select o.owner_id from staging.sales_order as o
    where o.loaded_at >= :since
    union
    select i.owner_id from staging.invoice as i
    where i.loaded_at >= :since
    union
    select c.owner_id from staging.collection as c
    where c.loaded_at >= :since
    union
    select v.employee_id from staging.visit as v
    where v.loaded_at >= :since
    union
    select d.employee_id from staging.daily_report as d
    where d.loaded_at >= :since
    union
    select d.approved_by from staging.daily_report as d
    where d.loaded_at >= :since
    union
    select p.employee_id from staging.monthly_plan as p
    where p.loaded_at >= :since
    union
    select a.manager_id from staging.employee_assignment as a
    union
    select t.org_key from staging.target as t
    where t.level = 'PERSON' and t.loaded_at >= :since
    union
    select e.employee_id from dw.dim_employee as e
    where e.is_inferred
),

inferred as (
    select
        r.employee_id,
        date '1900-01-01' as valid_from,
        null::date as valid_to,
        null::text as name,
        null::text as email,
        false as is_active,
        null::text as role,
        null::text as team_id,
        null::text as manager_id,
        null::text as region_code,
        null::text as business_unit,
        true as is_inferred
    from referenced as r
    where
        r.employee_id is not null
        and not exists (select 1 from merged as m where m.employee_id = r.employee_id)
),

real as (
    select
        m.employee_id,
        m.valid_from,
        nullif(m.valid_to, 'infinity') as valid_to,
        e.name,
        e.email,
        m.is_active,
        m.role,
        m.team_id,
        m.manager_id,
        t.region_code,
        t.business_unit,
        false as is_inferred
    from merged as m
    left join staging.employee as e on m.employee_id = e.employee_id
    left join staging.team as t on m.team_id = t.team_id
)

select * from real
union all
select * from inferred;

analyze tmp_dim_employee;

delete from dw.dim_employee as d
where not exists (
    select 1 from tmp_dim_employee as t
    where t.employee_id = d.employee_id and t.valid_from = d.valid_from
);

-- Existing versions first (closing the old current row), then the new ones.
update dw.dim_employee as d
set
    valid_to = t.valid_to,
    name = t.name,
    email = t.email,
    is_active = t.is_active,
    role = t.role,
    team_id = t.team_id,
    manager_id = t.manager_id,
    region_code = t.region_code,
    business_unit = t.business_unit,
    is_inferred = t.is_inferred
from tmp_dim_employee as t
where
    t.employee_id = d.employee_id
    and t.valid_from = d.valid_from
    and (
        d.valid_to, d.name, d.email, d.is_active, d.role, d.team_id, d.manager_id, d.region_code,
        d.business_unit, d.is_inferred
    )
    is distinct from (
        t.valid_to, t.name, t.email, t.is_active, t.role, t.team_id, t.manager_id, t.region_code,
        t.business_unit, t.is_inferred
    );

insert into dw.dim_employee (
    employee_id, valid_from, valid_to, name, email, is_active, role, team_id, manager_id,
    region_code, business_unit, is_inferred
)
select
    t.employee_id,
    t.valid_from,
    t.valid_to,
    t.name,
    t.email,
    t.is_active,
    t.role,
    t.team_id,
    t.manager_id,
    t.region_code,
    t.business_unit,
    t.is_inferred
from tmp_dim_employee as t
on conflict (employee_id, valid_from) do nothing;
