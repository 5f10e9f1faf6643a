-- R1 Region YTD attainment: 1 January to the review date; the YTD target is
-- the monthly targets of January through the review month; "same period last
-- year" is 1 January to the same day a year earlier (29 Feb -> 28 Feb).
-- Every salesperson active on the review date has a row, even without figures.
delete from mart.rpt_region_ytd_attainment where review_date = :review_date;

insert into mart.rpt_region_ytd_attainment (
    review_date, business_unit, level, region_code, team_id, owner_id, period_start, period_end,
    order_target_cny, order_actual_cny, order_attainment_ratio, order_attainment_note,
    order_actual_ly_cny, order_yoy_growth_ratio, collection_target_cny, collection_actual_cny,
    collection_attainment_ratio, collection_attainment_note, collection_actual_ly_cny,
    collection_yoy_growth_ratio, time_progress_ratio
)
with targets as (
    select
        t.business_unit,
        t.region_code,
        t.team_id,
        t.owner_id,
        case when t.measure = 'ORDER' then t.amount_cny end as order_target,
        case when t.measure = 'COLLECTION' then t.amount_cny end as collection_target
    from mart.target_attributed(cast(:year_start as date), cast(:month_start as date)) as t
),

orders as (
    select
        o.business_unit,
        o.owner_region_code as region_code,
        o.owner_team_id as team_id,
        o.owner_id,
        case when o.order_date >= :year_start then o.amount_cny end as order_actual,
        case when o.order_date <= :ly_date then o.amount_cny end as order_ly
    from dw.fct_order_attributed as o
    where
        o.order_date between :year_start and :review_date
        or o.order_date between :ly_year_start and :ly_date
),

collections as (
    select
        c.business_unit,
        c.owner_region_code as region_code,
        c.owner_team_id as team_id,
        c.owner_id,
        case when c.collection_date >= :year_start then c.amount_cny end as collection_actual,
        case when c.collection_date <= :ly_date then c.amount_cny end as collection_ly
    from dw.fct_collection_attributed as c
    where
        c.collection_date between :year_start and :review_date
        or c.collection_date between :ly_year_start and :ly_date
),

roster as (
    select
        e.business_unit,
        e.region_code,
        e.team_id,
        e.employee_id as owner_id
    from dw.employee_on(cast(:review_date as date)) as e
    where e.is_active and e.role = 'SALESPERSON'
),

-- each source summed per person first, so the rollup below groups a few
-- thousand rows instead of every target, order and collection
measures as (
    select
        r.business_unit,
        r.region_code,
        r.team_id,
        r.owner_id,
        null::numeric as order_target,
        null::numeric as order_actual,
        null::numeric as order_ly,
        null::numeric as collection_target,
        null::numeric as collection_actual,
        null::numeric as collection_ly
    from roster as r
    union all
    select
        t.business_unit,
        t.region_code,
        t.team_id,
        t.owner_id,
        sum(t.order_target) as order_target,
        null as order_actual,
        null as order_ly,
        sum(t.collection_target) as collection_target,
        null as collection_actual,
        null as collection_ly
    from targets as t
    group by t.business_unit, t.region_code, t.team_id, t.owner_id
    union all
    select
        o.business_unit,
        o.region_code,
        o.team_id,
        o.owner_id,
        null as order_target,
        sum(o.order_actual) as order_actual,
        sum(o.order_ly) as order_ly,
        null as collection_target,
        null as collection_actual,
        null as collection_ly
    from orders as o
    group by o.business_unit, o.region_code, o.team_id, o.owner_id
    union all
    select
        c.business_unit,
        c.region_code,
        c.team_id,
        c.owner_id,
        null as order_target,
        null as order_actual,
        null as order_ly,
        null as collection_target,
        sum(c.collection_actual) as collection_actual,
        sum(c.collection_ly) as collection_ly
    from collections as c
    group by c.business_unit, c.region_code, c.team_id, c.owner_id
),

grouped as (
    select
        coalesce(m.business_unit, '?') as business_unit,
        case
            when grouping(m.owner_id) = 0 then 'PERSON'
            when grouping(m.team_id) = 0 then 'TEAM'
            when grouping(m.region_code) = 0 then 'REGION'
            else 'COMPANY'
        end as level,
        m.region_code,
        m.team_id,
        m.owner_id,
        sum(m.order_target) as order_target_cny,
        coalesce(sum(m.order_actual), 0) as order_actual_cny,
        coalesce(sum(m.order_ly), 0) as order_actual_ly_cny,
        sum(m.collection_target) as collection_target_cny,
        coalesce(sum(m.collection_actual), 0) as collection_actual_cny,
        coalesce(sum(m.collection_ly), 0) as collection_actual_ly_cny
    from measures as m
    group by grouping sets (
        (coalesce(m.business_unit, '?')),
        (coalesce(m.business_unit, '?'), m.region_code),
        (coalesce(m.business_unit, '?'), m.region_code, m.team_id),
        (coalesce(m.business_unit, '?'), m.region_code, m.team_id, m.owner_id)
    )
),

context as (
    select
        exists(select 1 from dw.fct_order as o where o.order_date <= :review_date) as has_orders,
        exists(select 1 from dw.fct_collection as c where c.collection_date <= :review_date) as has_collections,
        cast(mart.working_days(:year_start, :review_date) as numeric)
        / nullif(mart.working_days(:year_start, :month_end), 0) as time_progress
),

noted as (
    select
        g.*,
        x.time_progress,
        case
            when coalesce(g.order_target_cny, 0) = 0 then 'no target'
            when not x.has_orders then 'no finance data'
        end as order_attainment_note,
        case
            when coalesce(g.collection_target_cny, 0) = 0 then 'no target'
            when not x.has_collections then 'no finance data'
        end as collection_attainment_note
    from grouped as g
    cross join context as x
)

select
    cast(:review_date as date) as review_date,
    n.business_unit,
    n.level,
    n.region_code,
    n.team_id,
    n.owner_id,
    cast(:year_start as date) as period_start,
    cast(:month_end as date) as period_end,
    n.order_target_cny,
    n.order_actual_cny,
    case
        when n.order_attainment_note is null then round(n.order_actual_cny / n.order_target_cny, 4)
    end as order_attainment_ratio,
    n.order_attainment_note,
    n.order_actual_ly_cny,
    case
        when n.order_actual_ly_cny > 0 then round(n.order_actual_cny / n.order_actual_ly_cny - 1, 4)
    end as order_yoy_growth_ratio,
    n.collection_target_cny,
    n.collection_actual_cny,
    case
        when n.collection_attainment_note is null
            then round(n.collection_actual_cny / n.collection_target_cny, 4)
    end as collection_attainment_ratio,
    n.collection_attainment_note,
    n.collection_actual_ly_cny,
    case
        when n.collection_actual_ly_cny > 0 then round(n.collection_actual_cny / n.collection_actual_ly_cny - 1, 4)
    end as collection_yoy_growth_ratio,
    round(n.time_progress, 4) as time_progress_ratio
from noted as n;
