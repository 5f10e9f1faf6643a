select
    u.user_id as employee_id,
    u.user_name as name,
    u.email,
    u.hire_date as hired_on,
    u.leave_date as left_on,
    u.updated_at
from crm.sys_user as u
where u.updated_at >= :window_start
