-- R3 Product monthly attainment: per product line and org level for the month
-- of the review date. Actuals belong to the owner's org on the event date,
-- pipeline and receivables to the owner's org on the review date, targets to
-- the person's org in the month. Forecast = orders so far + PENDING_ORDER
-- leads expecting their order in the month + weighted S3/S4 leads expecting it;
-- the previous forecast is the same computed as the data stood a week earlier.
delete from mart.rpt_product_month_attainment where review_date = :review_date;

insert into mart.rpt_product_month_attainment (
    review_date, business_unit, product_line_code, level, region_code, team_id, owner_id,
    month_start, order_target_cny, order_actual_mtd_cny, order_attainment_ratio,
    order_attainment_note, pending_order_cny, weighted_s3_s4_cny, order_forecast_cny,
    order_forecast_attainment_ratio, order_forecast_prev_cny, order_forecast_change_cny,
    collection_target_cny, collection_actual_mtd_cny, collection_attainment_ratio,
    collection_attainment_note, invoice_due_balance_cny, lead_expected_collection_cny,
    collection_forecast_cny, collection_forecast_attainment_ratio, bid_win_s4_leads,
    bid_win_s4_cny, bid_win_s4_weighted_cny, time_progress_ratio
)
with targets as (
    select
        t.business_unit,
        t.product_line_code,
        t.region_code,
        t.team_id,
        t.owner_id,
        case when t.measure = 'ORDER' then t.amount_cny end as order_target,
        case when t.measure = 'COLLECTION' then t.amount_cny end as collection_target
    from mart.target_attributed(cast(:month_start as date), cast(:month_start as date)) as t
),

orders as (
    select
        o.business_unit,
        o.product_line_code,
        o.owner_region_code as region_code,
        o.owner_team_id as team_id,
        o.owner_id,
        o.amount_cny as order_actual,
        case when o.order_date <= :prev_date then o.amount_cny else 0 end as prev_orders
    from dw.fct_order_attributed as o
    where o.order_date between :month_start and :review_date
),

pipeline as (
    select
        s.business_unit,
        s.product_line_code,
        s.owner_region_code as region_code,
        s.owner_team_id as team_id,
        s.owner_id,
        case
            when s.stage_code = 'S5_PENDING_ORDER' and s.expected_order_date between :month_start and :month_end
                then s.amount_cny
            else 0
        end as pending_order,
        case
            when s.stage_code in ('S3', 'S4') and s.expected_order_date between :month_start and :month_end
                then s.weighted_amount_cny
            else 0
        end as weighted_s3_s4,
        case
            when
                s.stage_code in ('S4', 'S5_PENDING_ORDER')
                and s.expected_collection_date between :month_start and :month_end
                then coalesce(s.expected_collection_cny, 0)
            else 0
        end as lead_expected_collection,
        case
            when s.stage_code = 'S4' and s.expected_tender_date between :month_start and :month_end then 1 else 0
        end as bid_leads,
        case
            when s.stage_code = 'S4' and s.expected_tender_date between :month_start and :month_end
                then s.amount_cny
            else 0
        end as bid_amount,
        case
            when s.stage_code = 'S4' and s.expected_tender_date between :month_start and :month_end
                then s.weighted_amount_cny
            else 0
        end as bid_weighted
    from dw.lead_state_on(cast(:review_date as date)) as s
),

pipeline_prev as (
    select
        s.business_unit,
        s.product_line_code,
        s.owner_region_code as region_code,
        s.owner_team_id as team_id,
        s.owner_id,
        case
            when s.stage_code = 'S5_PENDING_ORDER' then s.amount_cny
            when s.stage_code in ('S3', 'S4') then s.weighted_amount_cny
            else 0
        end as prev_pipeline
    from dw.lead_state_on(cast(:prev_date as date)) as s
    where s.expected_order_date between :month_start and :month_end
),

collections as (
    select
        c.business_unit,
        c.product_line_code,
        c.owner_region_code as region_code,
        c.owner_team_id as team_id,
        c.owner_id,
        c.amount_cny as collection_actual
    from dw.fct_collection_attributed as c
    where c.collection_date between :month_start and :review_date
),

invoices_due as (
    select
        coalesce(r.business_unit, pl.business_unit) as business_unit,
        r.product_line_code,
        e.region_code,
        e.team_id,
        r.owner_id,
        r.balance_cny as invoice_due_balance
    from dw.receivable_on(cast(:review_date as date)) as r
    left join dw.dim_product_line as pl on r.product_line_code = pl.product_line_code
    left join dw.employee_on(cast(:review_date as date)) as e on r.owner_id = e.employee_id
    where r.due_date between :month_start and :month_end
),

measures as (
    select
        t.business_unit,
        t.product_line_code,
        t.region_code,
        t.team_id,
        t.owner_id,
        t.order_target,
        null::numeric as order_actual,
        null::numeric as prev_orders,
        null::numeric as pending_order,
        null::numeric as weighted_s3_s4,
        null::numeric as prev_pipeline,
        t.collection_target,
        null::numeric as collection_actual,
        null::numeric as invoice_due_balance,
        null::numeric as lead_expected_collection,
        null::integer as bid_leads,
        null::numeric as bid_amount,
        null::numeric as bid_weighted
    from targets as t
    union all
    select
        o.business_unit,
        o.product_line_code,
        o.region_code,
        o.team_id,
        o.owner_id,
        null as order_target,
        o.order_actual,
        o.prev_orders,
        null as pending_order,
        null as weighted_s3_s4,
        null as prev_pipeline,
        null as collection_target,
        null as collection_actual,
        null as invoice_due_balance,
        null as lead_expected_collection,
        null as bid_leads,
        null as bid_amount,
        null as bid_weighted
    from orders as o
    union all
    select
        p.business_unit,
        p.product_line_code,
        p.region_code,
        p.team_id,
        p.owner_id,
        null as order_target,
        null as order_actual,
        null as prev_orders,
        p.pending_order,
        p.weighted_s3_s4,
        null as prev_pipeline,
        null as collection_target,
        null as collection_actual,
        null as invoice_due_balance,
        p.lead_expected_collection,
        p.bid_leads,
        p.bid_amount,
        p.bid_weighted
    from pipeline as p
    where p.pending_order <> 0 or p.weighted_s3_s4 <> 0 or p.lead_expected_collection <> 0 or p.bid_leads <> 0
    union all
    select
        pp.business_unit,
        pp.product_line_code,
        pp.region_code,
        pp.team_id,
        pp.owner_id,
        null as order_target,
        null as order_actual,
        null as prev_orders,
        null as pending_order,
        null as weighted_s3_s4,
        pp.prev_pipeline,
        null as collection_target,
        null as collection_actual,
        null as invoice_due_balance,
        null as lead_expected_collection,
        null as bid_leads,
        null as bid_amount,
        null as bid_weighted
    from pipeline_prev as pp
    union all
    select
        c.business_unit,
        c.product_line_code,
        c.region_code,
        c.team_id,
        c.owner_id,
        null as order_target,
        null as order_actual,
        null as prev_orders,
        null as pending_order,
        null as weighted_s3_s4,
        null as prev_pipeline,
        null as collection_target,
        c.collection_actual,
        null as invoice_due_balance,
        null as lead_expected_collection,
        null as bid_leads,
        null as bid_amount,
        null as bid_weighted
    from collections as c
    union all
    select
        i.business_unit,
        i.product_line_code,
        i.region_code,
        i.team_id,
        i.owner_id,
        null as order_target,
        null as order_actual,
        null as prev_orders,
        null as pending_order,
        null as weighted_s3_s4,
        null as prev_pipeline,
        null as collection_target,
        null as collection_actual,
        i.invoice_due_balance,
        null as lead_expected_collection,
        null as bid_leads,
        null as bid_amount,
        null as bid_weighted
    from invoices_due as i
),

grouped as (
    select
        coalesce(m.business_unit, '?') as business_unit,
        m.product_line_code,
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
        coalesce(sum(m.order_actual), 0) as order_actual_mtd_cny,
        coalesce(sum(m.prev_orders), 0) as prev_orders_cny,
        coalesce(sum(m.pending_order), 0) as pending_order_cny,
        coalesce(sum(m.weighted_s3_s4), 0) as weighted_s3_s4_cny,
        coalesce(sum(m.prev_pipeline), 0) as prev_pipeline_cny,
        sum(m.collection_target) as collection_target_cny,
        coalesce(sum(m.collection_actual), 0) as collection_actual_mtd_cny,
        coalesce(sum(m.invoice_due_balance), 0) as invoice_due_balance_cny,
        coalesce(sum(m.lead_expected_collection), 0) as lead_expected_collection_cny,
        coalesce(sum(m.bid_leads), 0) as bid_win_s4_leads,
        coalesce(sum(m.bid_amount), 0) as bid_win_s4_cny,
        coalesce(sum(m.bid_weighted), 0) as bid_win_s4_weighted_cny
    from measures as m
    group by grouping sets (
        (coalesce(m.business_unit, '?'), m.product_line_code),
        (coalesce(m.business_unit, '?'), m.product_line_code, m.region_code),
        (coalesce(m.business_unit, '?'), m.product_line_code, m.region_code, m.team_id),
        (coalesce(m.business_unit, '?'), m.product_line_code, m.region_code, m.team_id, m.owner_id)
    )
),

context as (
    select
        exists(select 1 from dw.fct_order as o where o.order_date <= :review_date) as has_orders,
        exists(select 1 from dw.fct_collection as c where c.collection_date <= :review_date) as has_collections,
        cast(mart.working_days(:month_start, :review_date) as numeric)
        / nullif(mart.working_days(:month_start, :month_end), 0) as time_progress
),

figures as (
    select
        g.*,
        g.order_actual_mtd_cny + g.pending_order_cny + g.weighted_s3_s4_cny as order_forecast_cny,
        g.prev_orders_cny + g.prev_pipeline_cny as order_forecast_prev_cny,
        g.collection_actual_mtd_cny + g.invoice_due_balance_cny
        + g.lead_expected_collection_cny as collection_forecast_cny,
        case
            when coalesce(g.order_target_cny, 0) = 0 then 'no target'
            when not x.has_orders then 'no finance data'
        end as order_attainment_note,
        case
            when coalesce(g.collection_target_cny, 0) = 0 then 'no target'
            when not x.has_collections then 'no finance data'
        end as collection_attainment_note,
        x.time_progress
    from grouped as g
    cross join context as x
)

select
    cast(:review_date as date) as review_date,
    f.business_unit,
    f.product_line_code,
    f.level,
    f.region_code,
    f.team_id,
    f.owner_id,
    cast(:month_start as date) as month_start,
    f.order_target_cny,
    f.order_actual_mtd_cny,
    case
        when f.order_attainment_note is null then round(f.order_actual_mtd_cny / f.order_target_cny, 4)
    end as order_attainment_ratio,
    f.order_attainment_note,
    f.pending_order_cny,
    f.weighted_s3_s4_cny,
    f.order_forecast_cny,
    case
        when coalesce(f.order_target_cny, 0) <> 0 then round(f.order_forecast_cny / f.order_target_cny, 4)
    end as order_forecast_attainment_ratio,
    f.order_forecast_prev_cny,
    f.order_forecast_cny - f.order_forecast_prev_cny as order_forecast_change_cny,
    f.collection_target_cny,
    f.collection_actual_mtd_cny,
    case
        when f.collection_attainment_note is null
            then round(f.collection_actual_mtd_cny / f.collection_target_cny, 4)
    end as collection_attainment_ratio,
    f.collection_attainment_note,
    f.invoice_due_balance_cny,
    f.lead_expected_collection_cny,
    f.collection_forecast_cny,
    case
        when coalesce(f.collection_target_cny, 0) <> 0
            then round(f.collection_forecast_cny / f.collection_target_cny, 4)
    end as collection_forecast_attainment_ratio,
    f.bid_win_s4_leads,
    f.bid_win_s4_cny,
    f.bid_win_s4_weighted_cny,
    round(f.time_progress, 4) as time_progress_ratio
from figures as f;
