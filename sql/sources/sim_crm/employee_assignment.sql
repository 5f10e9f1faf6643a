-- The CRM's effective_to is inclusive; the canonical valid_to is exclusive.
select
    a.user_id as employee_id,
    a.effective_from as valid_from,
    a.effective_to + 1 as valid_to,
    a.role_code as role,
    a.unit_id as team_id,
    a.manager_id,
    a.updated_at
from crm.user_assignment as a
where a.updated_at >= :window_start
