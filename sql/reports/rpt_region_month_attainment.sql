-- R2 Region monthly attainment: R3 (built just before in the same
-- transaction) summed over product lines, so regions and product lines
-- always tell the same story.
delete from mart.rpt_region_month_attainment where review_date = :review_date;

insert into mart.rpt_region_month_attainment (
    review_date, business_unit, level, region_code, team_id, owner_id, month_start,
    order_target_cny, order_actual_mtd_cny, order_attainment_ratio, order_attainment_note,
    pending_order_cny, weighted_s3_s4_cny, order_forecast_cny, order_forecast_attainment_ratio,
    order_forecast_prev_cny, order_forecast_change_cny, collection_target_cny,
    collection_actual_mtd_cny, collection_attainment_ratio, collection_attainment_note,
    time_progress_ratio
)
with summed as (
    select
        p.business_unit,
        p.level,
        p.region_code,
        p.team_id,
        p.owner_id,
        p.month_start,
        sum(p.order_target_cny) as order_target_cny,
        sum(p.order_actual_mtd_cny) as order_actual_mtd_cny,
        sum(p.pending_order_cny) as pending_order_cny,
        sum(p.weighted_s3_s4_cny) as weighted_s3_s4_cny,
        sum(p.order_forecast_cny) as order_forecast_cny,
        sum(p.order_forecast_prev_cny) as order_forecast_prev_cny,
        sum(p.collection_target_cny) as collection_target_cny,
        sum(p.collection_actual_mtd_cny) as collection_actual_mtd_cny,
        bool_or(p.order_attainment_note = 'no finance data') as no_orders,
        bool_or(p.collection_attainment_note = 'no finance data') as no_collections,
        max(p.time_progress_ratio) as time_progress_ratio
    from mart.rpt_product_month_attainment as p
    where p.review_date = :review_date
    group by p.business_unit, p.level, p.region_code, p.team_id, p.owner_id, p.month_start
),

noted as (
    select
        s.*,
        case
            when coalesce(s.order_target_cny, 0) = 0 then 'no target'
            when s.no_orders then 'no finance data'
        end as order_attainment_note,
        case
            when coalesce(s.collection_target_cny, 0) = 0 then 'no target'
            when s.no_collections then 'no finance data'
        end as collection_attainment_note
    from summed as s
)

select
    cast(:review_date as date) as review_date,
    n.business_unit,
    n.level,
    n.region_code,
    n.team_id,
    n.owner_id,
    n.month_start,
    n.order_target_cny,
    n.order_actual_mtd_cny,
    case
        when n.order_attainment_note is null then round(n.order_actual_mtd_cny / n.order_target_cny, 4)
    end as order_attainment_ratio,
    n.order_attainment_note,
    n.pending_order_cny,
    n.weighted_s3_s4_cny,
    n.order_forecast_cny,
    case
        when coalesce(n.order_target_cny, 0) <> 0 then round(n.order_forecast_cny / n.order_target_cny, 4)
    end as order_forecast_attainment_ratio,
    n.order_forecast_prev_cny,
    n.order_forecast_cny - n.order_forecast_prev_cny as order_forecast_change_cny,
    n.collection_target_cny,
    n.collection_actual_mtd_cny,
    case
        when n.collection_attainment_note is null
            then round(n.collection_actual_mtd_cny / n.collection_target_cny, 4)
    end as collection_attainment_ratio,
    n.collection_attainment_note,
    n.time_progress_ratio
from noted as n;
