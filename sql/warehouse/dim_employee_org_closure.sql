-- Manager chain as of any date: (ancestor, descendant, depth) with maximal
-- validity ranges, computed by walking direct-manager edges and intersecting
-- each step's validity. Small (employees x levels), so rebuilt in full.
create temporary table tmp_org_closure on commit drop as
with recursive edges as (
    select
        e.employee_id,
        e.manager_id,
        daterange(e.valid_from, coalesce(e.valid_to, 'infinity')) as validity
    from dw.dim_employee as e
),

chain (ancestor_id, descendant_id, depth, validity, path) as (
    select
        e.employee_id as ancestor_id,
        e.employee_id as descendant_id,
        0 as depth,
        e.validity,
        array[e.employee_id] as path
    from edges as e
    union all
    select
        e.manager_id,
        c.descendant_id,
        c.depth + 1,
        c.validity * e.validity,
        c.path || e.manager_id
    from chain as c
    inner join edges as e
        on
            c.ancestor_id = e.employee_id
            and c.validity && e.validity
    where
        e.manager_id is not null
        and e.manager_id <> all(c.path)
        and c.depth < 30
),

merged as (
    select
        c.ancestor_id,
        c.descendant_id,
        c.depth,
        unnest(range_agg(c.validity)) as validity
    from chain as c
    group by c.ancestor_id, c.descendant_id, c.depth
)

select
    m.ancestor_id,
    m.descendant_id,
    m.depth,
    lower(m.validity) as valid_from,
    upper(m.validity) as valid_to
from merged as m;

analyze tmp_org_closure;

delete from dw.dim_employee_org_closure as d
where not exists (
    select 1 from tmp_org_closure as t
    where
        t.ancestor_id = d.ancestor_id
        and t.descendant_id = d.descendant_id
        and t.depth = d.depth
        and t.valid_from = d.valid_from
        and t.valid_to = d.valid_to
);

insert into dw.dim_employee_org_closure (ancestor_id, descendant_id, depth, valid_from, valid_to)
select
    t.ancestor_id,
    t.descendant_id,
    t.depth,
    t.valid_from,
    t.valid_to
from tmp_org_closure as t
on conflict (ancestor_id, descendant_id, depth, valid_from) do nothing;
