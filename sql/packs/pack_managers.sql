-- The managers of a review period and the part of the org under each of them
-- on the review date (docs/packs.md, "Who gets a pack").
--
-- A manager is anyone who had somebody under them (closure depth > 0) at any
-- time from :period_start to :review_date, plus :manager_id when a single
-- manager is asked for. `people` counts who is under them ON the review date
-- (dw.org_scope semantics): 0 means no scope, and no pack.
-- The scope label is the name of the manager's own team (the unit they head),
-- else what the people under them share on the review date: one team, else
-- one region, else one business unit.
with managed as (
    select distinct c.ancestor_id as manager_id
    from dw.dim_employee_org_closure as c
    where
        c.depth > 0
        and c.valid_from <= :review_date
        and c.valid_to > :period_start
        and (cast(:manager_id as text) is null or c.ancestor_id = cast(:manager_id as text))
),

candidates as (
    select m.manager_id from managed as m
    union
    select cast(:manager_id as text) as manager_id
    where cast(:manager_id as text) is not null
),

people as (
    select
        c.ancestor_id as manager_id,
        c.descendant_id as employee_id,
        e.team_id,
        e.region_code,
        e.business_unit
    from dw.dim_employee_org_closure as c
    left join dw.employee_on(:review_date) as e on c.descendant_id = e.employee_id
    where
        c.depth > 0
        and c.valid_from <= :review_date
        and c.valid_to > :review_date
        and c.ancestor_id in (select k.manager_id from candidates as k)
),

spans as (
    select
        p.manager_id,
        count(distinct p.employee_id) as people,
        count(distinct coalesce(p.team_id, '')) as teams,
        min(p.team_id) as team_id,
        count(distinct coalesce(p.region_code, '')) as regions,
        min(p.region_code) as region_code,
        count(distinct coalesce(p.business_unit, '')) as units,
        min(p.business_unit) as business_unit
    from people as p
    group by p.manager_id
),

labelled as (
    select
        k.manager_id,
        m.name,
        m.email,
        coalesce(m.is_active, false) as is_active,
        m.role,
        own.name as own_team_name,
        coalesce(s.people, 0) as people,
        case
            when s.teams = 1 and s.team_id is not null then 'team'
            when s.regions = 1 and s.region_code is not null then 'region'
            when s.units = 1 and s.business_unit is not null then 'business_unit'
            when s.people > 0 then 'company'
        end as scope_level,
        case when s.teams = 1 then t.name end as team_name,
        case when s.regions = 1 then coalesce(r.name, s.region_code) end as region_name,
        case when s.units = 1 then coalesce(b.name_zh, b.name, s.business_unit) end as unit_name
    from candidates as k
    left join dw.employee_on(:review_date) as m on k.manager_id = m.employee_id
    left join spans as s on k.manager_id = s.manager_id
    left join dw.dim_team as own on m.team_id = own.team_id
    left join dw.dim_team as t on s.teams = 1 and s.team_id = t.team_id
    left join dw.dim_region as r on s.regions = 1 and s.region_code = r.region_code
    left join dw.dim_business_unit as b on s.units = 1 and s.business_unit = b.business_unit
)

select
    l.manager_id,
    l.name,
    l.email,
    l.is_active,
    l.role,
    l.people,
    l.scope_level,
    case when l.people > 0 then coalesce(
        l.own_team_name,
        case l.scope_level
            when 'team' then l.team_name
            when 'region' then l.region_name
            when 'business_unit' then l.unit_name
        end
    ) end as unit_label
from labelled as l
order by l.manager_id
