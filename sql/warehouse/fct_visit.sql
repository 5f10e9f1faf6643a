-- Customer visits, dated in the business time zone.
delete from dw.fct_visit as f
where
    cast(:full_build as boolean)
    and not exists (select 1 from staging.visit as s where s.visit_id = f.visit_id);

insert into dw.fct_visit (visit_id, visit_date, visited_at, employee_id, customer_id, lead_id, method)
with visits as (
    select
        v.visit_id,
        (v.visited_at at time zone :tz)::date as visit_date,
        v.visited_at,
        v.employee_id,
        v.customer_id,
        v.lead_id,
        v.method
    from staging.visit as v
    where v.loaded_at >= :since
)

select
    visit_id,
    visit_date,
    visited_at,
    employee_id,
    customer_id,
    lead_id,
    method
from visits
on conflict (visit_id) do update
    set
        visit_date = excluded.visit_date,
        visited_at = excluded.visited_at,
        employee_id = excluded.employee_id,
        customer_id = excluded.customer_id,
        lead_id = excluded.lead_id,
        method = excluded.method
    where (
        fct_visit.visit_date, fct_visit.visited_at, fct_visit.employee_id, fct_visit.customer_id,
        fct_visit.lead_id, fct_visit.method
    )
    is distinct from (
        excluded.visit_date, excluded.visited_at, excluded.employee_id, excluded.customer_id,
        excluded.lead_id, excluded.method
    );
