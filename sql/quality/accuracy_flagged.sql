-- `dq accuracy`: every (rule, entity) flagged on any day of the range.
select distinct
    f.rule_id,
    f.entity_type,
    f.entity_id
from dq.finding as f
where f.business_date between :start_date and :end_date
