-- DR02: a daily report of a working day not approved by the end of the
-- approval_working_days-th working day after it. Reported on that deadline day
-- (the first day the breach is certain), with the report's date in details.
with win as (
    select
        cw.start_date,
        cw.end_date,
        cw.tz,
        cw.approval_working_days
    from dq.check_window as cw
),

reports as (
    select
        r.employee_id,
        r.report_date,
        r.submitted_at,
        r.approved_at,
        w.approval_working_days,
        dl.deadline
    from staging.daily_report as r
    cross join win as w
    inner join dq.working_day as rd on r.report_date = rd.day and rd.is_working_day
    cross join
        lateral (
            select nd.day as deadline
            from dq.working_day as nd
            where nd.day > r.report_date and nd.is_working_day
            order by nd.day
            limit 1 offset w.approval_working_days - 1
        ) as dl
    where r.submitted_at is not null
)

select
    'DR02' as rule_id,
    rp.deadline as business_date,
    'employee' as entity_type,
    rp.employee_id as entity_id,
    rp.employee_id as owner_id,
    'warn' as severity,
    jsonb_build_object('report_date', rp.report_date, 'approved_at', rp.approved_at) as details
from reports as rp
cross join win as w
where
    rp.deadline between w.start_date and w.end_date
    and (rp.approved_at is null or (rp.approved_at at time zone w.tz)::date > rp.deadline)
