-- Leads present on the day and those quarantined by an error rule, plus the
-- validation run that covered the day (none: the checks have not run).
select
    (
        select count(*)
        from staging.lead as l
        where
            l.deleted_at is null
            and (l.created_at is null or (l.created_at at time zone :tz)::date <= :business_date)
    ) as leads,
    (
        select count(*)
        from dq.lead_quarantine as q
        where q.business_date = :business_date
    ) as quarantined,
    (
        select max(v.run_id)
        from dq.validation_run as v
        where :business_date between v.start_date and v.end_date
    ) as validation_run_id
