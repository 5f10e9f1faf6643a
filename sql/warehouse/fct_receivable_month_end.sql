-- Invoice balances at a month end, built when the business day is the last
-- day of its month (other days: dw.receivable_on(D) computes them on the fly).
delete from dw.fct_receivable_month_end as r
where r.month_end = :business_date;

insert into dw.fct_receivable_month_end (
    month_end, invoice_id, customer_id, owner_id, business_unit, product_line_code, due_date,
    invoiced_cny, collected_cny, balance_cny, days_overdue, aging_bucket
)
with balances as (
    select b.*
    from dw.receivable_on(:business_date) as b
    where extract(day from cast(:business_date as date) + 1) = 1
)

select
    as_of_date,
    invoice_id,
    customer_id,
    owner_id,
    business_unit,
    product_line_code,
    due_date,
    invoiced_cny,
    collected_cny,
    balance_cny,
    days_overdue,
    aging_bucket
from balances;
