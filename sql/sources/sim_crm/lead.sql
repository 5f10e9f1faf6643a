-- Leads are opportunities; the canonical lead id is the 商机编号 (opp_code),
-- which finance files quote as 线索编号.
select
    o.opp_code as lead_id,
    p.bu_code as business_unit,
    o.product_line_code,
    o.customer_id,
    o.owner_id,
    o.created_at,
    o.updated_at,
    o.stage_name as stage,
    o.status_name as status,
    o.amount as amount_cny,
    o.expected_tender_date,
    o.expected_order_date,
    o.expected_collection_date,
    o.expected_collection_amount as expected_collection_cny,
    o.tender_date,
    o.bid_price as bid_price_cny,
    o.competitors,
    o.bid_result,
    null::timestamptz as deleted_at
from crm.opportunity as o
left join crm.product_line as p on o.product_line_code = p.product_line_code
where
    o.updated_at >= :window_start
    -- the history's changed_at is set by the server: it catches a row whose client-set
    -- updated_at is wrong (rule LQ13: before its creation, or stale)
    or exists (
        select 1
        from crm.opportunity_history as h
        where h.opp_id = o.opp_id and h.changed_at >= :window_start
    )
