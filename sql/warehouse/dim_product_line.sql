-- Product lines -> business unit; inferred members for codes facts use before the
-- product line arrives (their business unit taken from the referencing lead).
insert into dw.dim_product_line (product_line_code, name, business_unit, is_inferred)
with known as (
    select
        p.product_line_code,
        p.name,
        p.business_unit,
        false as is_inferred
    from staging.product_line as p
),

-- codes named by rows loaded since the watermark, plus those already inferred
referenced as (
    select
        l.product_line_code,
        l.business_unit
    from staging.lead as l
    where l.loaded_at >= :since
    union
    select
        o.product_line_code,
        null as business_unit
    from staging.sales_order as o
    where o.loaded_at >= :since
    union
    select
        m.product_line_code,
        null as business_unit
    from staging.monthly_plan as m
    where m.loaded_at >= :since
    union
    select
        t.product_line_code,
        t.business_unit
    from staging.target as t
    where t.loaded_at >= :since
    union
    select
        p.product_line_code,
        p.business_unit
    from dw.dim_product_line as p
    where p.is_inferred
),

inferred as (
    select
        r.product_line_code,
        '(unknown ' || r.product_line_code || ')' as name,
        min(bu.business_unit) as business_unit,
        true as is_inferred
    from referenced as r
    left join dw.dim_business_unit as bu on r.business_unit = bu.business_unit
    where
        r.product_line_code is not null
        and not exists (select 1 from known as k where k.product_line_code = r.product_line_code)
    group by r.product_line_code
),

final as (
    select * from known
    union all
    select * from inferred
)

select
    product_line_code,
    name,
    business_unit,
    is_inferred
from final
on conflict (product_line_code) do update
    set name = excluded.name, business_unit = excluded.business_unit, is_inferred = excluded.is_inferred
    where (dim_product_line.name, dim_product_line.business_unit, dim_product_line.is_inferred)
    is distinct from (excluded.name, excluded.business_unit, excluded.is_inferred);
