-- LQ11: a lead at S4+ within backfill_days days of its creation (likely
-- back-filled). Reported on the day it first stood at S4 or S5.
with win as (
    select
        cw.start_date,
        cw.end_date,
        cw.tz,
        cw.backfill_days
    from dq.check_window as cw
),

first_s4 as (
    select distinct on (h.lead_id)
        h.lead_id,
        h.changed_at,
        h.stage,
        h.owner_id
    from staging.lead_history as h
    where h.stage in ('S4', 'S5')
    order by h.lead_id asc, h.changed_at asc, h.seq asc
)

select
    'LQ11' as rule_id,
    (f.changed_at at time zone w.tz)::date as business_date,
    'lead' as entity_type,
    f.lead_id as entity_id,
    f.owner_id,
    'warn' as severity,
    jsonb_build_object('created_at', l.created_at, 'stage', f.stage, 'reached_at', f.changed_at) as details
from first_s4 as f
inner join staging.lead as l on f.lead_id = l.lead_id
cross join win as w
where
    l.deleted_at is null
    and (f.changed_at at time zone w.tz)::date - (l.created_at at time zone w.tz)::date <= w.backfill_days
    and (f.changed_at at time zone w.tz)::date between w.start_date and w.end_date
