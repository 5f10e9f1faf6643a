-- Business units are the CRM's 事业部 org units.
select
    u.bu_code as business_unit,
    u.unit_name as name,
    u.updated_at
from crm.org_unit as u
where u.unit_type = '事业部' and u.updated_at >= :window_start
