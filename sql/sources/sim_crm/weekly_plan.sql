select
    w.user_id as employee_id,
    w.week_start,
    w.submitted_at,
    w.content,
    w.updated_at
from crm.weekly_plan as w
where w.updated_at >= :window_start
