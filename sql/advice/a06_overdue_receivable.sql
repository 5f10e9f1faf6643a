-- A06 Receivables overdue by more than :receivable_days days (R7), per
-- owner: the balance, the invoices, the largest balances first. The money at
-- stake is the overdue balance. An invoice without owner is one item of its own ('-').
insert into mart.advice_item (
    review_date, rule_id, subject_key, business_unit, severity, subject_kind, subject_id,
    subject_name, grain, level, region_code, team_id, owner_id, stake_cny, evidence, sheet, row_key
)
with overdue as (
    select
        r.*,
        coalesce(r.business_unit, '?') as bu,
        row_number() over (
            partition by coalesce(r.business_unit, '?'), r.owner_id
            order by r.balance_cny desc, r.days_overdue desc, r.invoice_id asc
        ) as n
    from mart.rpt_receivable as r
    where r.review_date = :review_date and r.balance_cny > 0 and r.days_overdue > :receivable_days
),

per_owner as (
    select
        o.bu,
        o.owner_id,
        count(*) as invoice_count,
        sum(o.balance_cny) as balance_cny,
        max(o.days_overdue) as max_days_overdue,
        jsonb_agg(
            jsonb_build_object(
                'invoice_id', o.invoice_id,
                'customer', o.customer_name,
                'balance_cny', o.balance_cny,
                'due_date', o.due_date,
                'days_overdue', o.days_overdue,
                'aging_bucket', o.aging_bucket
            )
            order by o.n
        ) filter (where o.n <= :evidence_leads) as invoices
    from overdue as o
    group by o.bu, o.owner_id
)

select
    cast(:review_date as date) as review_date,
    'A06' as rule_id,
    concat_ws('|', p.bu, coalesce(p.owner_id, '-')) as subject_key,
    p.bu as business_unit,
    case when p.max_days_overdue > 180 then 'high' else 'medium' end as severity,
    'person' as subject_kind,
    coalesce(p.owner_id, '-') as subject_id,
    top.owner_name as subject_name,
    'owner' as grain,
    'PERSON' as level,
    top.region_code,
    top.team_id,
    p.owner_id,
    p.balance_cny as stake_cny,
    jsonb_build_object(
        'days_threshold', cast(:receivable_days as integer),
        'balance_cny', p.balance_cny,
        'invoice_count', p.invoice_count,
        'max_days_overdue', p.max_days_overdue,
        'invoices', p.invoices
    ) as evidence,
    'R7' as sheet,
    jsonb_build_object('invoice_id', top.invoice_id) as row_key
from per_owner as p
inner join overdue as top on p.bu = top.bu and p.owner_id is not distinct from top.owner_id and top.n = 1
