-- Daily-report compliance per salesperson, team and region per day:
-- filed on time % = required reports of D without DR01 / required reports of D
-- (working days only); approved on time % = reports whose approval deadline
-- is D without DR02 / reports whose approval deadline is D. Org as of D.
delete from dq.report_compliance
where business_date between :start_date and :end_date;

insert into dq.report_compliance (
    business_date, scope_type, scope_id, reports_required, reports_on_time, approvals_due,
    approvals_on_time, filed_on_time_pct, approved_on_time_pct, run_id
)
with required as (
    select distinct
        wd.day as business_date,
        a.employee_id
    from dq.working_day as wd
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
        and wd.day between :start_date and :end_date
        and exists (select 1 from staging.daily_report)
),

due as (
    select
        dl.deadline as business_date,
        r.employee_id
    from staging.daily_report as r
    inner join dq.working_day as rd on r.report_date = rd.day and rd.is_working_day
    cross join
        lateral (
            select nd.day as deadline
            from dq.working_day as nd
            where nd.day > r.report_date and nd.is_working_day
            order by nd.day
            limit 1 offset :approval_working_days - 1
        ) as dl
    where r.submitted_at is not null and dl.deadline between :start_date and :end_date
),

per_person as (
    select
        coalesce(q.business_date, d.business_date) as business_date,
        coalesce(q.employee_id, d.employee_id) as employee_id,
        count(distinct q.employee_id) as required_n,
        count(distinct d.employee_id) as due_n
    from required as q
    full join due as d on q.business_date = d.business_date and q.employee_id = d.employee_id
    group by coalesce(q.business_date, d.business_date), coalesce(q.employee_id, d.employee_id)
),

scored as (
    select
        p.business_date,
        p.employee_id,
        p.required_n,
        p.due_n,
        case
            when p.required_n > 0 and not exists (
                select 1 from dq.finding as f
                where
                    f.rule_id = 'DR01' and f.entity_type = 'employee'
                    and f.entity_id = p.employee_id and f.business_date = p.business_date
            ) then 1
            else 0
        end as on_time_n,
        p.due_n - (
            select count(*) from dq.finding as f
            where
                f.rule_id = 'DR02' and f.entity_type = 'employee'
                and f.entity_id = p.employee_id and f.business_date = p.business_date
        ) as approved_n
    from per_person as p
),

with_org as (
    select
        s.*,
        a.team_id,
        tm.region_code
    from scored as s
    left join lateral (
        select ea.team_id
        from staging.employee_assignment as ea
        where
            ea.employee_id = s.employee_id
            and ea.valid_from <= s.business_date
            and (ea.valid_to is null or ea.valid_to > s.business_date)
        order by ea.valid_from desc
        limit 1
    ) as a on true
    left join staging.team as tm on a.team_id = tm.team_id
),

rolled as (
    select
        w.business_date,
        case
            when grouping(w.employee_id) = 0 then 'PERSON'
            when grouping(w.team_id) = 0 then 'TEAM'
            else 'REGION'
        end as scope_type,
        coalesce(w.employee_id, w.team_id, w.region_code) as scope_id,
        sum(w.required_n) as reports_required,
        sum(w.on_time_n) as reports_on_time,
        sum(w.due_n) as approvals_due,
        sum(greatest(w.approved_n, 0)) as approvals_on_time
    from with_org as w
    group by grouping sets (
        (w.business_date, w.employee_id),
        (w.business_date, w.team_id),
        (w.business_date, w.region_code)
    )
)

select
    r.business_date,
    r.scope_type,
    r.scope_id,
    r.reports_required,
    r.reports_on_time,
    r.approvals_due,
    r.approvals_on_time,
    round(100.0 * r.reports_on_time / nullif(r.reports_required, 0), 2) as filed_on_time_pct,
    round(100.0 * r.approvals_on_time / nullif(r.approvals_due, 0), 2) as approved_on_time_pct,
    :run_id
from rolled as r
where r.scope_id is not null;
