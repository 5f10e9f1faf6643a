-- The leads the checks quarantined for the business day (dq.lead_quarantine):
-- dw.lead_state_on and dw.fct_lead_snapshot leave them out of that day.
delete from dw.fct_lead_gate as g
where g.business_date = :business_date;

insert into dw.fct_lead_gate (business_date, lead_id, rule_ids)
select
    q.business_date,
    q.lead_id,
    q.rule_ids
from dq.lead_quarantine as q
where q.business_date = :business_date;
