-- Every statement of a monthly plan (dw.fct_monthly_plan_first picks "the plan").
delete from dw.fct_monthly_plan as f
where
    cast(:full_build as boolean)
    and not exists (
        select 1 from staging.monthly_plan as s
        where
            s.employee_id = f.employee_id
            and s.plan_month = f.plan_month
            and s.product_line_code = f.product_line_code
            and s.measure = f.measure
            and s.stated_at = f.stated_at
    );

insert into dw.fct_monthly_plan (
    employee_id, plan_month, product_line_code, measure, stated_at, stated_on, business_unit, amount_cny
)
with plans as (
    select
        m.employee_id,
        m.plan_month,
        m.product_line_code,
        m.measure,
        m.stated_at,
        (m.stated_at at time zone :tz)::date as stated_on,
        p.business_unit,
        m.amount_cny
    from staging.monthly_plan as m
    left join dw.dim_product_line as p on m.product_line_code = p.product_line_code
    where m.loaded_at >= :since
)

select
    employee_id,
    plan_month,
    product_line_code,
    measure,
    stated_at,
    stated_on,
    business_unit,
    amount_cny
from plans
on conflict (employee_id, plan_month, product_line_code, measure, stated_at) do update
    set
        stated_on = excluded.stated_on,
        business_unit = excluded.business_unit,
        amount_cny = excluded.amount_cny
    where (fct_monthly_plan.stated_on, fct_monthly_plan.business_unit, fct_monthly_plan.amount_cny)
    is distinct from (excluded.stated_on, excluded.business_unit, excluded.amount_cny);
