-- DR01: a salesperson active on a working day with no daily report for it, or
-- one submitted after that day. Skipped when the source has no daily reports.
with win as (
    select
        cw.start_date,
        cw.end_date,
        cw.tz
    from dq.check_window as cw
),

required as (
    select distinct
        wd.day as business_date,
        a.employee_id
    from dq.working_day as wd
    cross join win as w
    inner join staging.employee_assignment as a
        on
            a.role = 'SALESPERSON'
            and wd.day >= a.valid_from
            and (a.valid_to is null or wd.day < a.valid_to)
    inner join staging.employee as e
        on
            a.employee_id = e.employee_id
            and (e.hired_on is null or wd.day >= e.hired_on)
            and (e.left_on is null or wd.day <= e.left_on)
    where
        wd.is_working_day
        and wd.day between w.start_date and w.end_date
        and exists (select 1 from staging.daily_report)
)

select
    'DR01' as rule_id,
    q.business_date,
    'employee' as entity_type,
    q.employee_id as entity_id,
    q.employee_id as owner_id,
    'warn' as severity,
    jsonb_build_object(
        'kind', case when r.submitted_at is null then 'missing' else 'late' end,
        'submitted_at', r.submitted_at
    ) as details
from required as q
cross join win as w
left join staging.daily_report as r
    on
        q.employee_id = r.employee_id
        and q.business_date = r.report_date
where r.submitted_at is null or (r.submitted_at at time zone w.tz)::date > q.business_date
