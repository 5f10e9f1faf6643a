-- Inside the lead step, before it commits: every owner and customer named by
-- the rebuilt lead versions has a dimension row (the SCD2 foreign-key check).
-- Returns one row per check with the number of orphan keys; all must be 0.
with changed as (
    select
        s.owner_id,
        s.customer_id
    from dw.fct_lead_state as s
    inner join tmp_changed_leads as c on s.lead_id = c.lead_id
),

owners as (
    select distinct c.owner_id from changed as c
    where c.owner_id is not null
),

customers as (
    select distinct c.customer_id from changed as c
    where c.customer_id is not null
),

checks as (
    select
        'lead owner -> dim_employee' as check_name,
        count(*) as orphans
    from owners as o
    where not exists (select 1 from dw.dim_employee as e where e.employee_id = o.owner_id)
    union all
    select
        'lead customer -> dim_customer' as check_name,
        count(*) as orphans
    from customers as c
    where not exists (select 1 from dw.dim_customer as d where d.customer_id = c.customer_id)
)

select
    check_name,
    orphans
from checks;
