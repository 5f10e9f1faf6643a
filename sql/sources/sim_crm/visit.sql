-- The CRM records the visit date only; it is taken at noon local time.
select
    v.visit_id::text as visit_id,
    v.user_id as employee_id,
    v.customer_id,
    o.opp_code as lead_id,
    v.visit_date + time '12:00' as visited_at,
    v.visit_type as method,
    v.updated_at
from crm.visit_record as v
left join crm.opportunity as o on v.opp_id = o.opp_id
where v.updated_at >= :window_start
