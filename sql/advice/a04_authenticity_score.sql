-- A04 Salesperson authenticity score below :score_floor, or fallen by more
-- than :score_drop_points points since the review a week earlier (R9 of
-- :prev_date). Evidence: the findings by rule and the salesperson's open
-- leads with findings (R6 ledger), largest first; the money at stake is their amount.
insert into mart.advice_item (
    review_date, rule_id, subject_key, business_unit, severity, subject_kind, subject_id,
    subject_name, grain, level, region_code, team_id, owner_id, stake_cny, evidence, sheet, row_key
)
with scored as (
    select
        c.business_unit,
        c.region_code,
        c.team_id,
        c.owner_id,
        c.open_leads,
        c.error_findings,
        c.warn_findings,
        c.finding_weight,
        c.authenticity_score as score,
        c.findings_by_rule,
        p.authenticity_score as prev_score,
        round((p.authenticity_score - c.authenticity_score) * 100, 1) as drop_pts
    from mart.rpt_authenticity_scorecard as c
    left join mart.rpt_authenticity_scorecard as p
        on
            p.review_date = :prev_date
            and p.level = 'PERSON'
            and c.business_unit = p.business_unit
            and c.owner_id = p.owner_id
    where
        c.review_date = :review_date
        and c.level = 'PERSON'
        and c.owner_id is not null
        and c.authenticity_score is not null
),

flagged as (
    select
        s.*,
        s.score < :score_floor as below_floor,
        coalesce(s.drop_pts > :score_drop_points, false) as dropped
    from scored as s
    where s.score < :score_floor or s.drop_pts > :score_drop_points
),

leads as (
    select
        l.business_unit,
        l.owner_id,
        l.lead_id,
        l.customer_name,
        l.amount_cny,
        l.finding_rule_ids,
        row_number() over (
            partition by l.business_unit, l.owner_id order by l.amount_cny desc nulls last, l.lead_id asc
        ) as n
    from mart.rpt_lead_ledger as l
    where l.review_date = :review_date and l.is_open and cardinality(l.finding_rule_ids) > 0
),

lead_evidence as (
    select
        l.business_unit,
        l.owner_id,
        count(*) as flagged_leads,
        coalesce(sum(l.amount_cny), 0) as flagged_cny,
        jsonb_agg(
            jsonb_build_object(
                'lead_id', l.lead_id,
                'customer', l.customer_name,
                'amount_cny', l.amount_cny,
                'rules', to_jsonb(l.finding_rule_ids)
            )
            order by l.n
        ) filter (where l.n <= :evidence_leads) as top_leads
    from leads as l
    group by l.business_unit, l.owner_id
)

select
    cast(:review_date as date) as review_date,
    'A04' as rule_id,
    concat_ws('|', f.business_unit, f.owner_id) as subject_key,
    f.business_unit,
    case when f.below_floor then 'high' else 'medium' end as severity,
    'person' as subject_kind,
    f.owner_id as subject_id,
    (
        select e.name from dw.dim_employee as e
        where e.employee_id = f.owner_id
        order by (e.valid_from <= :review_date) desc, e.valid_from desc
        limit 1
    ) as subject_name,
    'owner' as grain,
    'PERSON' as level,
    f.region_code,
    f.team_id,
    f.owner_id,
    coalesce(le.flagged_cny, 0) as stake_cny,
    jsonb_build_object(
        'score', f.score,
        'prev_score', f.prev_score,
        'drop_pts', f.drop_pts,
        'score_floor', cast(:score_floor as numeric),
        'below_floor', f.below_floor,
        'dropped', f.dropped,
        'open_leads', f.open_leads,
        'error_findings', f.error_findings,
        'warn_findings', f.warn_findings,
        'finding_weight', f.finding_weight,
        'findings_by_rule', f.findings_by_rule,
        'flagged_leads', coalesce(le.flagged_leads, 0),
        'flagged_cny', coalesce(le.flagged_cny, 0),
        'leads', coalesce(le.top_leads, '[]'::jsonb)
    ) as evidence,
    'R9' as sheet,
    jsonb_build_object(
        'business_unit', f.business_unit,
        'level', 'PERSON',
        'region_code', f.region_code,
        'team_id', f.team_id,
        'owner_id', f.owner_id
    ) as row_key
from flagged as f
left join lead_evidence as le on f.business_unit = le.business_unit and f.owner_id = le.owner_id
