-- LQ12: open lead whose owner is not an active employee that day
-- (active: hired_on <= D and (left_on is null or D <= left_on)).
select
    'LQ12' as rule_id,
    ld.business_date,
    'lead' as entity_type,
    ld.lead_id as entity_id,
    ld.owner_id,
    'error' as severity,
    jsonb_build_object(
        'known_employee', e.employee_id is not null, 'hired_on', e.hired_on, 'left_on', e.left_on
    ) as details
from dq.lead_day as ld
left join staging.employee as e on ld.owner_id = e.employee_id
where
    ld.is_open
    and ld.owner_id is not null
    and (
        e.employee_id is null
        or e.hired_on > ld.business_date
        or e.left_on < ld.business_date
    )
