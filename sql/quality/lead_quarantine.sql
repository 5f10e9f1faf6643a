-- Leads with an `error` finding on a day are quarantined for that day
-- (dq.lead_quarantine, read by the warehouse).
delete from dq.lead_quarantine
where business_date between :start_date and :end_date;

insert into dq.lead_quarantine (lead_id, business_date, rule_ids)
select
    f.entity_id as lead_id,
    f.business_date,
    array_agg(f.rule_id order by f.rule_id) as rule_ids
from dq.finding as f
where
    f.entity_type = 'lead'
    and f.severity = 'error'
    and f.business_date between :start_date and :end_date
group by f.entity_id, f.business_date;
