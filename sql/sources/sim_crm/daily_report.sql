select
    r.user_id as employee_id,
    r.report_date,
    r.report_id::text as report_id,
    r.submitted_at,
    r.approver_id as approved_by,
    r.approved_at,
    r.updated_at
from crm.daily_report as r
where r.updated_at >= :window_start
