select
    o.opp_code as lead_id,
    h.changed_at,
    h.seq_no as seq,
    h.stage_name as stage,
    h.status_name as status,
    h.amount as amount_cny,
    h.owner_id,
    h.expected_tender_date,
    h.expected_order_date,
    h.expected_collection_date,
    h.expected_collection_amount as expected_collection_cny,
    h.customer_id,
    h.product_line_code,
    h.tender_date,
    h.bid_price as bid_price_cny,
    h.competitors
from crm.opportunity_history as h
inner join crm.opportunity as o on h.opp_id = o.opp_id
where h.changed_at >= :window_start
