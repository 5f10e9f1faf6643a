-- Authenticity score per salesperson, team and region per day:
-- max(0, 1 - W / L), L = open leads owned on D, W = error_weight x error
-- findings + warn_weight x warn findings of LQ rules of those leads on D (a
-- customer's LQ08 counts for each of its leads). Team and region: the owner's
-- org on D (staging.employee_assignment, staging.team).
delete from dq.authenticity_score
where business_date between :start_date and :end_date;

insert into dq.authenticity_score (
    business_date, scope_type, scope_id, open_leads, error_findings, warn_findings, weight, score, run_id
)
with lead_rules as (
    select
        f.business_date,
        f.entity_id as lead_id,
        f.severity
    from dq.finding as f
    where
        f.entity_type = 'lead'
        and f.rule_id like 'LQ%'
        and f.business_date between :start_date and :end_date
    union all
    select
        ld.business_date,
        ld.lead_id,
        f.severity
    from dq.lead_day as ld
    inner join dq.finding as f
        on
            f.entity_type = 'customer'
            and ld.customer_id = f.entity_id
            and ld.business_date = f.business_date
    where ld.is_open and f.rule_id like 'LQ%'
),

per_lead as (
    select
        ld.business_date,
        ld.lead_id,
        ld.owner_id,
        count(lr.severity) filter (where lr.severity = 'error') as errors,
        count(lr.severity) filter (where lr.severity = 'warn') as warns
    from dq.lead_day as ld
    left join lead_rules as lr on ld.business_date = lr.business_date and ld.lead_id = lr.lead_id
    where ld.is_open and ld.owner_id is not null
    group by ld.business_date, ld.lead_id, ld.owner_id
),

per_owner as (
    select
        p.business_date,
        p.owner_id,
        count(*) as open_leads,
        sum(p.errors) as errors,
        sum(p.warns) as warns
    from per_lead as p
    group by p.business_date, p.owner_id
),

with_org as (
    -- one org lookup per owner and day, not per lead
    select
        po.*,
        a.team_id,
        tm.region_code
    from per_owner as po
    left join lateral (
        select ea.team_id
        from staging.employee_assignment as ea
        where
            ea.employee_id = po.owner_id
            and ea.valid_from <= po.business_date
            and (ea.valid_to is null or ea.valid_to > po.business_date)
        order by ea.valid_from desc
        limit 1
    ) as a on true
    left join staging.team as tm on a.team_id = tm.team_id
),

rolled as (
    select
        w.business_date,
        case
            when grouping(w.owner_id) = 0 then 'PERSON'
            when grouping(w.team_id) = 0 then 'TEAM'
            else 'REGION'
        end as scope_type,
        coalesce(w.owner_id, w.team_id, w.region_code) as scope_id,
        sum(w.open_leads) as open_leads,
        sum(w.errors) as error_findings,
        sum(w.warns) as warn_findings
    from with_org as w
    group by grouping sets (
        (w.business_date, w.owner_id),
        (w.business_date, w.team_id),
        (w.business_date, w.region_code)
    )
)

select
    r.business_date,
    r.scope_type,
    r.scope_id,
    r.open_leads,
    r.error_findings,
    r.warn_findings,
    :error_weight * r.error_findings + :warn_weight * r.warn_findings as weight,
    round(greatest(0, 1 - (:error_weight * r.error_findings + :warn_weight * r.warn_findings) / r.open_leads), 6)
        as score,
    :run_id
from rolled as r
where r.scope_id is not null;
