-- The foreign-key check for SCD type 2 references (a plain foreign key cannot
-- point at a versioned key): every id a fact names has a dimension row.
-- Returns one row per check with the number of orphan keys; all must be 0.
with lead_owners as (
    select distinct s.owner_id as employee_id from dw.fct_lead_state as s
),

lead_customers as (
    select distinct s.customer_id from dw.fct_lead_state as s
),

finance_owners as (
    select o.owner_id as employee_id from dw.fct_order as o
    union
    select i.owner_id from dw.fct_invoice as i
    union
    select c.owner_id from dw.fct_collection as c
),

finance_customers as (
    select o.customer_id from dw.fct_order as o
    union
    select i.customer_id from dw.fct_invoice as i
    union
    select c.customer_id from dw.fct_collection as c
),

checks as (
    select
        'lead owner -> dim_employee' as check_name,
        count(*) as orphans
    from lead_owners as o
    where
        o.employee_id is not null
        and not exists (select 1 from dw.dim_employee as e where e.employee_id = o.employee_id)
    union all
    select
        'lead customer -> dim_customer' as check_name,
        count(*) as orphans
    from lead_customers as c
    where
        c.customer_id is not null
        and not exists (select 1 from dw.dim_customer as d where d.customer_id = c.customer_id)
    union all
    select
        'finance owner -> dim_employee' as check_name,
        count(*) as orphans
    from finance_owners as o
    where
        o.employee_id is not null
        and not exists (select 1 from dw.dim_employee as e where e.employee_id = o.employee_id)
    union all
    select
        'finance customer -> dim_customer' as check_name,
        count(*) as orphans
    from finance_customers as c
    where
        c.customer_id is not null
        and not exists (select 1 from dw.dim_customer as d where d.customer_id = c.customer_id)
)

select
    check_name,
    orphans
from checks;
