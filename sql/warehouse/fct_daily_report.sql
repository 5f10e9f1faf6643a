-- Daily reports with submission and approval days in the business time zone.
delete from dw.fct_daily_report as f
where
    cast(:full_build as boolean)
    and not exists (
        select 1 from staging.daily_report as s
        where s.employee_id = f.employee_id and s.report_date = f.report_date
    );

insert into dw.fct_daily_report (
    employee_id, report_date, report_id, submitted_at, submitted_on, approved_by, approved_at,
    approved_on, is_submitted_on_time
)
with reports as (
    select
        r.employee_id,
        r.report_date,
        r.report_id,
        r.submitted_at,
        (r.submitted_at at time zone :tz)::date as submitted_on,
        r.approved_by,
        r.approved_at,
        (r.approved_at at time zone :tz)::date as approved_on
    from staging.daily_report as r
    where r.loaded_at >= :since
)

select
    employee_id,
    report_date,
    report_id,
    submitted_at,
    submitted_on,
    approved_by,
    approved_at,
    approved_on,
    coalesce(submitted_on <= report_date, false) as is_submitted_on_time
from reports
on conflict (employee_id, report_date) do update
    set
        report_id = excluded.report_id,
        submitted_at = excluded.submitted_at,
        submitted_on = excluded.submitted_on,
        approved_by = excluded.approved_by,
        approved_at = excluded.approved_at,
        approved_on = excluded.approved_on,
        is_submitted_on_time = excluded.is_submitted_on_time
    where (
        fct_daily_report.report_id, fct_daily_report.submitted_at, fct_daily_report.approved_by,
        fct_daily_report.approved_at
    )
    is distinct from (excluded.report_id, excluded.submitted_at, excluded.approved_by, excluded.approved_at);
