-- R7 Receivable totals by org level and aging bucket (from rpt_receivable,
-- built just before in the same transaction: owner's org on the review date)
-- with the month's collections (owner's org on the collection date).
delete from mart.rpt_receivable_aging where review_date = :review_date;

insert into mart.rpt_receivable_aging (
    review_date, business_unit, level, region_code, team_id, owner_id, invoices, not_due_cny,
    overdue_1_30_cny, overdue_31_90_cny, overdue_91_180_cny, overdue_181_365_cny,
    overdue_over_365_cny, balance_cny, overdue_cny, collected_mtd_cny, finance_note
)
with measures as (
    select
        r.business_unit,
        r.region_code,
        r.team_id,
        r.owner_id,
        1 as invoices,
        r.aging_bucket,
        r.balance_cny,
        null::numeric as collected
    from mart.rpt_receivable as r
    where r.review_date = :review_date
    union all
    select
        c.business_unit,
        c.owner_region_code as region_code,
        c.owner_team_id as team_id,
        c.owner_id,
        0 as invoices,
        null as aging_bucket,
        null as balance_cny,
        c.amount_cny as collected
    from dw.fct_collection_attributed as c
    where c.collection_date between :month_start and :review_date
),

grouped as (
    select
        coalesce(m.business_unit, '?') as business_unit,
        case
            when grouping(m.owner_id) = 0 then 'PERSON'
            when grouping(m.team_id) = 0 then 'TEAM'
            when grouping(m.region_code) = 0 then 'REGION'
            else 'COMPANY'
        end as level,
        m.region_code,
        m.team_id,
        m.owner_id,
        sum(m.invoices) as invoices,
        coalesce(sum(m.balance_cny) filter (where m.aging_bucket = 'NOT_DUE'), 0) as not_due_cny,
        coalesce(sum(m.balance_cny) filter (where m.aging_bucket = '1-30'), 0) as overdue_1_30_cny,
        coalesce(sum(m.balance_cny) filter (where m.aging_bucket = '31-90'), 0) as overdue_31_90_cny,
        coalesce(sum(m.balance_cny) filter (where m.aging_bucket = '91-180'), 0) as overdue_91_180_cny,
        coalesce(sum(m.balance_cny) filter (where m.aging_bucket = '181-365'), 0) as overdue_181_365_cny,
        coalesce(sum(m.balance_cny) filter (where m.aging_bucket = '>365'), 0) as overdue_over_365_cny,
        coalesce(sum(m.balance_cny), 0) as balance_cny,
        coalesce(sum(m.balance_cny) filter (where m.aging_bucket <> 'NOT_DUE'), 0) as overdue_cny,
        coalesce(sum(m.collected), 0) as collected_mtd_cny
    from measures as m
    group by grouping sets (
        (coalesce(m.business_unit, '?')),
        (coalesce(m.business_unit, '?'), m.region_code),
        (coalesce(m.business_unit, '?'), m.region_code, m.team_id),
        (coalesce(m.business_unit, '?'), m.region_code, m.team_id, m.owner_id)
    )
),

context as (
    select exists(select 1 from dw.fct_invoice as i where i.invoice_date <= :review_date) as has_invoices
)

select
    cast(:review_date as date) as review_date,
    g.business_unit,
    g.level,
    g.region_code,
    g.team_id,
    g.owner_id,
    g.invoices,
    g.not_due_cny,
    g.overdue_1_30_cny,
    g.overdue_31_90_cny,
    g.overdue_91_180_cny,
    g.overdue_181_365_cny,
    g.overdue_over_365_cny,
    g.balance_cny,
    g.overdue_cny,
    g.collected_mtd_cny,
    case when not x.has_invoices then 'no finance data' end as finance_note
from grouped as g
cross join context as x;
