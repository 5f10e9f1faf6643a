-- R7 Receivables per invoice: balance on the review date (amount minus the
-- collections applied up to it), days overdue, aging bucket, the owner's org
-- on the review date, and what was collected on the invoice this month.
delete from mart.rpt_receivable where review_date = :review_date;

insert into mart.rpt_receivable (
    review_date, invoice_id, business_unit, product_line_code, customer_id, customer_name,
    owner_id, owner_name, team_id, region_code, due_date, invoiced_cny, collected_cny, balance_cny,
    days_overdue, aging_bucket, collected_in_month_cny
)
with balances as (
    select r.*
    from dw.receivable_on(cast(:review_date as date)) as r
),

collected_in_month as (
    select
        c.invoice_id,
        sum(c.amount_cny) as amount_cny
    from dw.fct_collection as c
    where c.collection_date between :month_start and :review_date
    group by c.invoice_id
)

select
    cast(:review_date as date) as review_date,
    b.invoice_id,
    coalesce(b.business_unit, pl.business_unit) as business_unit,
    b.product_line_code,
    b.customer_id,
    cu.name as customer_name,
    b.owner_id,
    e.name as owner_name,
    e.team_id,
    e.region_code,
    b.due_date,
    b.invoiced_cny,
    b.collected_cny,
    b.balance_cny,
    b.days_overdue,
    b.aging_bucket,
    coalesce(m.amount_cny, 0) as collected_in_month_cny
from balances as b
left join dw.dim_product_line as pl on b.product_line_code = pl.product_line_code
left join dw.employee_on(cast(:review_date as date)) as e on b.owner_id = e.employee_id
left join dw.customer_on(cast(:review_date as date)) as cu on b.customer_id = cu.customer_id
left join collected_in_month as m on b.invoice_id = m.invoice_id;
