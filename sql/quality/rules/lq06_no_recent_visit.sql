-- LQ06: open S3+ lead with no visit recorded against it in the last
-- no_visit_days days (D - no_visit_days + 1 .. D).
with win as (
    select
        cw.tz,
        cw.no_visit_days
    from dq.check_window as cw
)

select
    'LQ06' as rule_id,
    ld.business_date,
    'lead' as entity_type,
    ld.lead_id as entity_id,
    ld.owner_id,
    'warn' as severity,
    jsonb_build_object('stage', ld.stage, 'last_visit_date', lv.last_visit_date) as details
from dq.lead_day as ld
cross join win as w
left join lateral (
    select max((v.visited_at at time zone w.tz)::date) as last_visit_date
    from staging.visit as v
    where
        v.lead_id = ld.lead_id
        and v.visited_at < (ld.business_date + 1)::timestamp at time zone w.tz
) as lv on true
where
    ld.is_open
    and ld.stage_rank >= 3
    and (lv.last_visit_date is null or lv.last_visit_date <= ld.business_date - w.no_visit_days)
