-- R8 Plan accuracy for the accuracy month (the review month when the review
-- date is its last day, else the month before): plan = sum of the first
-- statements, actual = the month's orders (collections); accuracy =
-- max(0, 1 - |actual - plan| / plan), null when the plan is 0; volatility =
-- population standard deviation of the monthly accuracy over the trailing
-- months (null with fewer than the minimum); the same a year earlier and the
-- change in percentage points. Levels: company, region, team, person, each
-- for all product lines ('ALL') and per product line.
delete from mart.rpt_plan_accuracy where review_date = :review_date;

insert into mart.rpt_plan_accuracy (
    review_date, business_unit, measure, product_line_code, level, region_code, team_id, owner_id,
    accuracy_month, plan_cny, actual_cny, accuracy_ratio, volatility_ratio, volatility_months,
    plan_ly_cny, actual_ly_cny, accuracy_ly_ratio, volatility_ly_ratio, accuracy_change_pts,
    volatility_change_pts, accuracy_note
)
with bounds as (
    select
        cast(:accuracy_month as date) as am,
        cast(cast(:accuracy_month as date) - interval '12 months' as date) as am_ly,
        cast(
            cast(:accuracy_month as date) - make_interval(months => 11 + cast(:volatility_months as integer))
            as date
        ) as first_month,
        cast(cast(:accuracy_month as date) + interval '1 month' as date) as after_month
),

plans as (
    select
        p.plan_month as month,
        p.business_unit,
        p.measure,
        p.product_line_code,
        p.region_code,
        p.team_id,
        p.owner_id,
        p.amount_cny as plan,
        null::numeric as actual
    from bounds as b
    cross join lateral mart.plan_attributed(b.first_month, b.am) as p
),

actuals as (
    select
        cast(date_trunc('month', o.order_date) as date) as month,
        o.business_unit,
        'ORDER' as measure,
        o.product_line_code,
        o.owner_region_code as region_code,
        o.owner_team_id as team_id,
        o.owner_id,
        null::numeric as plan,
        o.amount_cny as actual
    from dw.fct_order_attributed as o
    cross join bounds as b
    where o.order_date >= b.first_month and o.order_date < b.after_month
    union all
    select
        cast(date_trunc('month', c.collection_date) as date) as month,
        c.business_unit,
        'COLLECTION' as measure,
        c.product_line_code,
        c.owner_region_code as region_code,
        c.owner_team_id as team_id,
        c.owner_id,
        null::numeric as plan,
        c.amount_cny as actual
    from dw.fct_collection_attributed as c
    cross join bounds as b
    where c.collection_date >= b.first_month and c.collection_date < b.after_month
),

-- summed per person, product line and month first, so the rollup below
-- groups one row per person-line-month instead of every plan, order and
-- collection
measures as (
    select
        x.month,
        x.business_unit,
        x.measure,
        x.product_line_code,
        x.region_code,
        x.team_id,
        x.owner_id,
        sum(x.plan) as plan,
        sum(x.actual) as actual
    from (
        select * from plans
        union all
        select * from actuals
    ) as x
    group by x.month, x.business_unit, x.measure, x.product_line_code, x.region_code, x.team_id, x.owner_id
),

monthly as (
    select
        m.month,
        coalesce(m.business_unit, '?') as business_unit,
        m.measure,
        case when grouping(m.product_line_code) = 1 then 'ALL' else coalesce(m.product_line_code, '?') end
            as product_line_code,
        case
            when grouping(m.owner_id) = 0 then 'PERSON'
            when grouping(m.team_id) = 0 then 'TEAM'
            when grouping(m.region_code) = 0 then 'REGION'
            else 'COMPANY'
        end as level,
        m.region_code,
        m.team_id,
        m.owner_id,
        coalesce(sum(m.plan), 0) as plan_cny,
        coalesce(sum(m.actual), 0) as actual_cny
    from measures as m
    group by grouping sets (
        (m.month, coalesce(m.business_unit, '?'), m.measure),
        (m.month, coalesce(m.business_unit, '?'), m.measure, m.product_line_code),
        (m.month, coalesce(m.business_unit, '?'), m.measure, m.region_code),
        (m.month, coalesce(m.business_unit, '?'), m.measure, m.region_code, m.product_line_code),
        (m.month, coalesce(m.business_unit, '?'), m.measure, m.region_code, m.team_id),
        (m.month, coalesce(m.business_unit, '?'), m.measure, m.region_code, m.team_id, m.product_line_code),
        (m.month, coalesce(m.business_unit, '?'), m.measure, m.region_code, m.team_id, m.owner_id),
        (
            m.month, coalesce(m.business_unit, '?'), m.measure, m.region_code, m.team_id, m.owner_id,
            m.product_line_code
        )
    )
),

scored as (
    select
        mo.*,
        case when mo.plan_cny > 0 then greatest(0, 1 - abs(mo.actual_cny - mo.plan_cny) / mo.plan_cny) end
            as accuracy
    from monthly as mo
),

per_group as (
    select
        s.business_unit,
        s.measure,
        s.product_line_code,
        s.level,
        s.region_code,
        s.team_id,
        s.owner_id,
        coalesce(sum(s.plan_cny) filter (where s.month = b.am), 0) as plan_cny,
        coalesce(sum(s.actual_cny) filter (where s.month = b.am), 0) as actual_cny,
        max(s.accuracy) filter (where s.month = b.am) as accuracy_ratio,
        stddev_pop(s.accuracy) filter (
            where s.month > b.am - make_interval(months => cast(:volatility_months as integer)) and s.month <= b.am
        ) as volatility_ratio,
        count(s.accuracy) filter (
            where s.month > b.am - make_interval(months => cast(:volatility_months as integer)) and s.month <= b.am
        ) as volatility_months,
        coalesce(sum(s.plan_cny) filter (where s.month = b.am_ly), 0) as plan_ly_cny,
        coalesce(sum(s.actual_cny) filter (where s.month = b.am_ly), 0) as actual_ly_cny,
        max(s.accuracy) filter (where s.month = b.am_ly) as accuracy_ly_ratio,
        stddev_pop(s.accuracy) filter (
            where
            s.month > b.am_ly - make_interval(months => cast(:volatility_months as integer))
            and s.month <= b.am_ly
        ) as volatility_ly_ratio,
        count(s.accuracy) filter (
            where
            s.month > b.am_ly - make_interval(months => cast(:volatility_months as integer))
            and s.month <= b.am_ly
        ) as volatility_ly_months,
        bool_or(s.month = b.am or s.month = b.am_ly) as has_rows
    from scored as s
    cross join bounds as b
    group by
        s.business_unit, s.measure, s.product_line_code, s.level, s.region_code, s.team_id, s.owner_id
),

figures as (
    select
        g.*,
        case when g.volatility_months >= cast(:volatility_min_months as integer) then g.volatility_ratio end
            as volatility,
        case when g.volatility_ly_months >= cast(:volatility_min_months as integer) then g.volatility_ly_ratio end
            as volatility_ly
    from per_group as g
    where g.has_rows
)

select
    cast(:review_date as date) as review_date,
    f.business_unit,
    f.measure,
    f.product_line_code,
    f.level,
    f.region_code,
    f.team_id,
    f.owner_id,
    cast(:accuracy_month as date) as accuracy_month,
    f.plan_cny,
    f.actual_cny,
    round(f.accuracy_ratio, 4) as accuracy_ratio,
    round(f.volatility, 4) as volatility_ratio,
    f.volatility_months,
    f.plan_ly_cny,
    f.actual_ly_cny,
    round(f.accuracy_ly_ratio, 4) as accuracy_ly_ratio,
    round(f.volatility_ly, 4) as volatility_ly_ratio,
    round((f.accuracy_ratio - f.accuracy_ly_ratio) * 100, 2) as accuracy_change_pts,
    round((f.volatility - f.volatility_ly) * 100, 2) as volatility_change_pts,
    case when f.plan_cny = 0 then 'no plan' end as accuracy_note
from figures as f;
