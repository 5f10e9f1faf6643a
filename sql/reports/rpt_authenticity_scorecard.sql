-- R9 Authenticity scorecard per salesperson, team, region and company (the
-- owner's org on the review date): open leads, findings, the score
-- max(0, 1 - W / L) over the scope's open leads (from dq.authenticity_score
-- per person, summed up the org), findings per rule on the review date, and
-- daily-report compliance over the 7 days ending with the review date.
delete from mart.rpt_authenticity_scorecard where review_date = :review_date;

insert into mart.rpt_authenticity_scorecard (
    review_date, business_unit, level, region_code, team_id, owner_id, open_leads, error_findings,
    warn_findings, finding_weight, authenticity_score, findings_by_rule, reports_required,
    reports_on_time, filed_on_time_ratio, approvals_due, approvals_on_time, approved_on_time_ratio
)
with staff as (
    select
        e.employee_id,
        coalesce(e.business_unit, '?') as business_unit,
        e.region_code,
        e.team_id
    from dw.employee_on(cast(:review_date as date)) as e
),

measures as (
    select
        st.business_unit,
        st.region_code,
        st.team_id,
        a.scope_id as owner_id,
        a.open_leads,
        a.error_findings,
        a.warn_findings,
        a.weight,
        0 as reports_required,
        0 as reports_on_time,
        0 as approvals_due,
        0 as approvals_on_time
    from dq.authenticity_score as a
    inner join staff as st on a.scope_id = st.employee_id
    where a.business_date = :review_date and a.scope_type = 'PERSON'
    union all
    select
        st.business_unit,
        st.region_code,
        st.team_id,
        r.scope_id as owner_id,
        0 as open_leads,
        0 as error_findings,
        0 as warn_findings,
        0 as weight,
        r.reports_required,
        r.reports_on_time,
        r.approvals_due,
        r.approvals_on_time
    from dq.report_compliance as r
    inner join staff as st on r.scope_id = st.employee_id
    where r.business_date between :week_start and :review_date and r.scope_type = 'PERSON'
),

grouped as (
    select
        m.business_unit,
        case
            when grouping(m.owner_id) = 0 then 'PERSON'
            when grouping(m.team_id) = 0 then 'TEAM'
            when grouping(m.region_code) = 0 then 'REGION'
            else 'COMPANY'
        end as level,
        m.region_code,
        m.team_id,
        m.owner_id,
        sum(m.open_leads) as open_leads,
        sum(m.error_findings) as error_findings,
        sum(m.warn_findings) as warn_findings,
        sum(m.weight) as finding_weight,
        sum(m.reports_required) as reports_required,
        sum(m.reports_on_time) as reports_on_time,
        sum(m.approvals_due) as approvals_due,
        sum(m.approvals_on_time) as approvals_on_time
    from measures as m
    group by grouping sets (
        (m.business_unit),
        (m.business_unit, m.region_code),
        (m.business_unit, m.region_code, m.team_id),
        (m.business_unit, m.region_code, m.team_id, m.owner_id)
    )
),

lead_rules as (
    select
        st.business_unit,
        st.region_code,
        st.team_id,
        l.owner_id,
        r.rule_id
    from dw.lead_any_state_on(cast(:review_date as date)) as l
    inner join dq.lead_findings_on(cast(:review_date as date)) as f on l.lead_id = f.lead_id
    cross join lateral unnest(f.rule_ids) as r (rule_id)
    inner join staff as st on l.owner_id = st.employee_id
    where l.is_open
),

rule_counts as (
    select
        lr.business_unit,
        case
            when grouping(lr.owner_id) = 0 then 'PERSON'
            when grouping(lr.team_id) = 0 then 'TEAM'
            when grouping(lr.region_code) = 0 then 'REGION'
            else 'COMPANY'
        end as level,
        lr.region_code,
        lr.team_id,
        lr.owner_id,
        lr.rule_id,
        count(*) as leads
    from lead_rules as lr
    group by grouping sets (
        (lr.business_unit, lr.rule_id),
        (lr.business_unit, lr.region_code, lr.rule_id),
        (lr.business_unit, lr.region_code, lr.team_id, lr.rule_id),
        (lr.business_unit, lr.region_code, lr.team_id, lr.owner_id, lr.rule_id)
    )
),

rules_json as (
    select
        rc.business_unit,
        rc.level,
        rc.region_code,
        rc.team_id,
        rc.owner_id,
        jsonb_object_agg(rc.rule_id, rc.leads order by rc.rule_id) as findings_by_rule
    from rule_counts as rc
    group by rc.business_unit, rc.level, rc.region_code, rc.team_id, rc.owner_id
)

select
    cast(:review_date as date) as review_date,
    g.business_unit,
    g.level,
    g.region_code,
    g.team_id,
    g.owner_id,
    g.open_leads,
    g.error_findings,
    g.warn_findings,
    g.finding_weight,
    case when g.open_leads > 0 then round(greatest(0, 1 - g.finding_weight / g.open_leads), 4) end
        as authenticity_score,
    coalesce(j.findings_by_rule, '{}'::jsonb) as findings_by_rule,
    g.reports_required,
    g.reports_on_time,
    case
        when g.reports_required > 0 then round(cast(g.reports_on_time as numeric) / g.reports_required, 4)
    end as filed_on_time_ratio,
    g.approvals_due,
    g.approvals_on_time,
    case
        when g.approvals_due > 0 then round(cast(g.approvals_on_time as numeric) / g.approvals_due, 4)
    end as approved_on_time_ratio
from grouped as g
left join rules_json as j
    on
        g.business_unit = j.business_unit
        and g.level = j.level
        and g.region_code is not distinct from j.region_code
        and g.team_id is not distinct from j.team_id
        and g.owner_id is not distinct from j.owner_id;
