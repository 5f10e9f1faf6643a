select
    p.user_id as employee_id,
    p.plan_month,
    p.product_line_code,
    p.measure_name as measure,
    p.stated_at,
    p.plan_amount as amount_cny,
    p.created_at as updated_at
from crm.monthly_plan as p
where p.created_at >= :window_start
