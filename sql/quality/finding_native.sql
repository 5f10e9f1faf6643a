-- Findings of the native (row) expectations: the failing keys selected by
-- GX's unexpected-index queries into the temporary table native_hit, one finding per rule, lead and day.
insert into dq.finding (business_date, rule_id, entity_type, entity_id, severity, owner_id, details, run_id)
select
    h.business_date,
    h.rule_id,
    'lead' as entity_type,
    h.lead_id as entity_id,
    max(h.severity) as severity,
    ld.owner_id,
    jsonb_build_object(
        'problems', jsonb_agg(h.problem order by h.problem)
    ) as details,
    :run_id
from native_hit as h
left join dq.lead_day as ld on h.business_date = ld.business_date and h.lead_id = ld.lead_id
group by h.business_date, h.rule_id, h.lead_id, ld.owner_id;
