-- Targets that do not add up: for the year :target_year, every parent whose
-- children differ from it by more than :tolerance (relative to the parent):
--   split     the person-month (or any node's) explicit total vs its split by
--             product line and/or account tier,
--   month     a year row vs the sum of its 12 month rows (once all exist),
--   level     COMPANY vs its REGIONs, REGION vs its TEAMs, TEAM vs its PERSONs
--             (a person's team as of the 1st of the month), per month.
-- Each row names the owner of the parent target (the person, the team or
-- region manager, the business unit manager) as of :as_of.
with year_targets as (
    select
        t.level,
        t.org_key,
        t.month,
        t.business_unit,
        t.measure,
        t.product_line_code,
        t.account_tier,
        t.amount_cny
    from staging.target as t
    where t.year = :target_year
),

node_parts as (
    select
        y.level,
        y.org_key,
        y.month,
        y.business_unit,
        y.measure,
        sum(y.amount_cny) filter (where y.product_line_code is null and y.account_tier is null) as total_cny,
        sum(y.amount_cny) filter (where y.product_line_code is not null and y.account_tier is not null) as by_both_cny,
        sum(y.amount_cny) filter (where y.product_line_code is not null and y.account_tier is null) as by_line_cny,
        sum(y.amount_cny) filter (where y.product_line_code is null and y.account_tier is not null) as by_tier_cny
    from year_targets as y
    group by y.level, y.org_key, y.month, y.business_unit, y.measure
),

nodes as (
    select
        n.*,
        coalesce(n.total_cny, n.by_both_cny, n.by_line_cny, n.by_tier_cny) as node_cny
    from node_parts as n
),

split_checks as (
    select
        'split' as kind,
        n.level,
        n.org_key,
        n.month,
        n.business_unit,
        n.measure,
        n.total_cny as parent_cny,
        s.children_cny,
        s.split_by as detail
    from nodes as n
    cross join
        lateral (
            values
            ('product_line_code x account_tier', n.by_both_cny),
            ('product_line_code', n.by_line_cny),
            ('account_tier', n.by_tier_cny)
        ) as s (split_by, children_cny)
    where n.total_cny is not null and s.children_cny is not null
),

month_checks as (
    select
        'month' as kind,
        yr.level,
        yr.org_key,
        yr.month,
        yr.business_unit,
        yr.measure,
        yr.node_cny as parent_cny,
        sum(mo.node_cny) as children_cny,
        count(*)::text || ' months' as detail
    from nodes as yr
    inner join nodes as mo
        on
            yr.level = mo.level
            and yr.org_key = mo.org_key
            and yr.business_unit = mo.business_unit
            and yr.measure = mo.measure
            and mo.month is not null
    where yr.month is null
    group by yr.level, yr.org_key, yr.month, yr.business_unit, yr.measure, yr.node_cny
    -- month targets appear as months begin: a year adds up once all 12 exist
    having count(*) = 12
),

child_parent as (
    -- person -> team (as of the 1st of the month), team -> region, region -> company
    select
        'TEAM' as parent_level,
        a.team_id as parent_key,
        n.month,
        n.business_unit,
        n.measure,
        n.node_cny
    from nodes as n
    cross join
        lateral (
            select ea.team_id
            from staging.employee_assignment as ea
            where
                ea.employee_id = n.org_key
                and ea.team_id is not null
            -- the assignment on the 1st of the month; else one overlapping the month;
            -- else (targets handed to a successor hired later) the nearest one
            order by
                (
                    ea.valid_from <= make_date(:target_year, n.month, 1)
                    and (ea.valid_to is null or ea.valid_to > make_date(:target_year, n.month, 1))
                ) desc,
                (
                    ea.valid_from < make_date(:target_year, n.month, 1) + interval '1 month'
                    and (ea.valid_to is null or ea.valid_to > make_date(:target_year, n.month, 1))
                ) desc,
                abs(ea.valid_from - make_date(:target_year, n.month, 1)) asc
            limit 1
        ) as a
    where n.level = 'PERSON' and n.month is not null
    union all
    select
        'REGION' as parent_level,
        tm.region_code as parent_key,
        n.month,
        n.business_unit,
        n.measure,
        n.node_cny
    from nodes as n
    inner join staging.team as tm on n.org_key = tm.team_id
    where n.level = 'TEAM' and n.month is not null
    union all
    select
        'COMPANY' as parent_level,
        '' as parent_key,
        n.month,
        n.business_unit,
        n.measure,
        n.node_cny
    from nodes as n
    where n.level = 'REGION' and n.month is not null
),

level_checks as (
    select
        'level' as kind,
        p.level,
        p.org_key,
        p.month,
        p.business_unit,
        p.measure,
        p.node_cny as parent_cny,
        sum(c.node_cny) as children_cny,
        count(*)::text || ' children' as detail
    from nodes as p
    inner join child_parent as c
        on
            p.level = c.parent_level
            and p.org_key = c.parent_key
            and p.month = c.month
            and p.business_unit = c.business_unit
            and p.measure = c.measure
    group by p.level, p.org_key, p.month, p.business_unit, p.measure, p.node_cny
),

all_checks as (
    select * from split_checks
    union all
    select * from month_checks
    union all
    select * from level_checks
),

mismatches as (
    select *
    from all_checks
    where abs(children_cny - parent_cny) > :tolerance * abs(parent_cny) or (parent_cny = 0 and children_cny <> 0)
)

select
    m.kind,
    m.level,
    m.org_key,
    m.month,
    m.business_unit,
    m.measure,
    m.parent_cny,
    m.children_cny,
    m.detail,
    case m.level
        when 'PERSON' then m.org_key
        when 'TEAM'
            then (
                select ea.employee_id
                from staging.employee_assignment as ea
                where
                    ea.role = 'TEAM_MANAGER' and ea.team_id = m.org_key
                    and ea.valid_from <= :as_of and (ea.valid_to is null or ea.valid_to > :as_of)
                order by ea.valid_from desc
                limit 1
            )
        when 'REGION'
            then (
                select ea.employee_id
                from staging.employee_assignment as ea
                left join staging.team as tm on ea.team_id = tm.team_id
                where
                    ea.role = 'REGION_MANAGER' and (ea.team_id = m.org_key or tm.region_code = m.org_key)
                    and ea.valid_from <= :as_of and (ea.valid_to is null or ea.valid_to > :as_of)
                order by ea.valid_from desc
                limit 1
            )
        else (
            select ea.employee_id
            from staging.employee_assignment as ea
            left join staging.team as tm on ea.team_id = tm.team_id
            where
                ea.role in ('BU_MANAGER', 'EXECUTIVE')
                and (ea.team_id = m.business_unit or tm.business_unit = m.business_unit or ea.role = 'EXECUTIVE')
                and ea.valid_from <= :as_of and (ea.valid_to is null or ea.valid_to > :as_of)
            order by ea.role asc, ea.valid_from desc
            limit 1
        )
    end as owner_id
from mismatches as m
order by m.level, m.org_key, m.month nulls first, m.business_unit, m.measure, m.kind
