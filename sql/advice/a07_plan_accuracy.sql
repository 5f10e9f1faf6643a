-- A07 Plan accuracy persistently low (R8): a salesperson whose order (or
-- collection) plan accuracy, all product lines, was under
-- :plan_accuracy_floor in each of the :plan_accuracy_months months ending
-- with the month R8 reports on the review date (:first_accuracy_month ..
-- :accuracy_month). Each month's figures come from the latest review date
-- up to this one that reported that month. "over" = the plan was above the
-- result (over-plans); the money at stake is the mean |actual - plan| a month.
insert into mart.advice_item (
    review_date, rule_id, subject_key, business_unit, severity, subject_kind, subject_id,
    subject_name, grain, level, region_code, team_id, owner_id, stake_cny, evidence, sheet, row_key
)
with reported as (
    select
        p.*,
        max(p.review_date) over (
            partition by p.business_unit, p.measure, p.owner_id, p.accuracy_month
        ) as latest_review_date
    from mart.rpt_plan_accuracy as p
    where
        p.review_date <= :review_date
        and p.level = 'PERSON'
        and p.product_line_code = 'ALL'
        and p.owner_id is not null
        and p.accuracy_month between :first_accuracy_month and :accuracy_month
),

monthly as (
    -- a person who moved has one PERSON row per org in a month: add them up
    select
        r.business_unit,
        r.measure,
        r.owner_id,
        r.accuracy_month,
        sum(r.plan_cny) as plan_cny,
        sum(r.actual_cny) as actual_cny
    from reported as r
    where r.review_date = r.latest_review_date
    group by r.business_unit, r.measure, r.owner_id, r.accuracy_month
),

accuracy as (
    select
        m.*,
        case
            when m.plan_cny > 0 then round(greatest(0, 1 - abs(m.actual_cny - m.plan_cny) / m.plan_cny), 4)
        end as accuracy_ratio
    from monthly as m
),

persistent as (
    select
        a.business_unit,
        a.measure,
        a.owner_id,
        round(avg(a.accuracy_ratio), 4) as mean_accuracy_ratio,
        round(avg(abs(a.actual_cny - a.plan_cny)), 2) as mean_abs_deviation_cny,
        round(avg(a.actual_cny - a.plan_cny), 2) as mean_deviation_cny,
        jsonb_agg(
            jsonb_build_object(
                'month', to_char(a.accuracy_month, 'YYYY-MM'),
                'plan_cny', a.plan_cny,
                'actual_cny', a.actual_cny,
                'accuracy_ratio', a.accuracy_ratio
            )
            order by a.accuracy_month
        ) as months
    from accuracy as a
    group by a.business_unit, a.measure, a.owner_id
    having count(*) filter (where a.accuracy_ratio < :plan_accuracy_floor) = :plan_accuracy_months
)

select
    cast(:review_date as date) as review_date,
    'A07' as rule_id,
    concat_ws('|', p.business_unit, p.measure, p.owner_id) as subject_key,
    p.business_unit,
    case when p.mean_accuracy_ratio < :plan_accuracy_floor / 2 then 'high' else 'medium' end as severity,
    'person' as subject_kind,
    p.owner_id as subject_id,
    e.name as subject_name,
    'owner' as grain,
    'PERSON' as level,
    e.region_code,
    e.team_id,
    p.owner_id,
    p.mean_abs_deviation_cny as stake_cny,
    jsonb_build_object(
        'measure', p.measure,
        'months', cast(:plan_accuracy_months as integer),
        'floor', cast(:plan_accuracy_floor as numeric),
        'by_month', p.months,
        'mean_accuracy_ratio', p.mean_accuracy_ratio,
        'mean_deviation_cny', p.mean_deviation_cny,
        'mean_abs_deviation_cny', p.mean_abs_deviation_cny,
        'direction', case when p.mean_deviation_cny < 0 then 'over' else 'under' end
    ) as evidence,
    'R8' as sheet,
    jsonb_build_object(
        'business_unit', p.business_unit,
        'measure', p.measure,
        'product_line_code', 'ALL',
        'level', 'PERSON',
        'owner_id', p.owner_id,
        'accuracy_month', cast(:accuracy_month as date)
    ) as row_key
from persistent as p
-- the salesperson's org on the review date (the current manager follows it up)
left join lateral (
    select
        x.name,
        x.region_code,
        x.team_id
    from dw.dim_employee as x
    where x.employee_id = p.owner_id
    order by
        (x.valid_from <= :review_date and (x.valid_to is null or x.valid_to > :review_date)) desc,
        x.valid_from desc
    limit 1
) as e on true
