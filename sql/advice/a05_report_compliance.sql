-- A05 Daily-report compliance below :compliance_floor (R9, the 7 days ending
-- with the review date): who, and how many reports were late or missing.
-- No money is at stake (stake 0): these items rank after every money item.
insert into mart.advice_item (
    review_date, rule_id, subject_key, business_unit, severity, subject_kind, subject_id,
    subject_name, grain, level, region_code, team_id, owner_id, stake_cny, evidence, sheet, row_key
)
with low as (
    select
        c.*,
        c.reports_required - c.reports_on_time as late_or_missing
    from mart.rpt_authenticity_scorecard as c
    where
        c.review_date = :review_date
        and c.level = 'PERSON'
        and c.owner_id is not null
        and c.reports_required > 0
        and c.filed_on_time_ratio < :compliance_floor
)

select
    cast(:review_date as date) as review_date,
    'A05' as rule_id,
    concat_ws('|', l.business_unit, l.owner_id) as subject_key,
    l.business_unit,
    case when l.filed_on_time_ratio < :compliance_floor / 2 then 'medium' else 'low' end as severity,
    'person' as subject_kind,
    l.owner_id as subject_id,
    (
        select e.name from dw.dim_employee as e
        where e.employee_id = l.owner_id
        order by (e.valid_from <= :review_date) desc, e.valid_from desc
        limit 1
    ) as subject_name,
    'owner' as grain,
    'PERSON' as level,
    l.region_code,
    l.team_id,
    l.owner_id,
    0 as stake_cny,
    jsonb_build_object(
        'reports_required', l.reports_required,
        'reports_on_time', l.reports_on_time,
        'late_or_missing', l.late_or_missing,
        'filed_on_time_ratio', l.filed_on_time_ratio,
        'compliance_floor', cast(:compliance_floor as numeric),
        'approvals_due', l.approvals_due,
        'approvals_on_time', l.approvals_on_time,
        'approved_on_time_ratio', l.approved_on_time_ratio
    ) as evidence,
    'R9' as sheet,
    jsonb_build_object(
        'business_unit', l.business_unit,
        'level', 'PERSON',
        'region_code', l.region_code,
        'team_id', l.team_id,
        'owner_id', l.owner_id
    ) as row_key
from low as l
