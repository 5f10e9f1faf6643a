-- Finance orders. The owner is the finance record's owner, else the lead's;
-- business unit from the product line. Upserts the rows staging changed
-- since :since; a full build (:full_build) also drops orders staging no longer has.
delete from dw.fct_order as f
where
    cast(:full_build as boolean)
    and not exists (select 1 from staging.sales_order as s where s.order_id = f.order_id);

insert into dw.fct_order (
    order_id, order_date, customer_id, lead_id, owner_id, business_unit, product_line_code, amount_cny
)
with orders as (
    select
        o.order_id,
        o.order_date,
        coalesce(o.customer_id, l.customer_id) as customer_id,
        o.lead_id,
        coalesce(o.owner_id, l.owner_id) as owner_id,
        coalesce(o.product_line_code, l.product_line_code) as product_line_code,
        o.amount_cny
    from staging.sales_order as o
    left join staging.lead as l on o.lead_id = l.lead_id
    where o.order_id in (
        -- two index-friendly reads instead of one "or" across the join
        select so.order_id from staging.sales_order as so
        where so.loaded_at >= :since
        union
        select so.order_id from staging.sales_order as so
        inner join staging.lead as sl on so.lead_id = sl.lead_id
        where sl.loaded_at >= :since
    )
),

final as (
    select
        o.*,
        p.business_unit
    from orders as o
    left join dw.dim_product_line as p on o.product_line_code = p.product_line_code
)

select
    order_id,
    order_date,
    customer_id,
    lead_id,
    owner_id,
    business_unit,
    product_line_code,
    amount_cny
from final
on conflict (order_id) do update
    set
        order_date = excluded.order_date,
        customer_id = excluded.customer_id,
        lead_id = excluded.lead_id,
        owner_id = excluded.owner_id,
        business_unit = excluded.business_unit,
        product_line_code = excluded.product_line_code,
        amount_cny = excluded.amount_cny
    where (
        fct_order.order_date, fct_order.customer_id, fct_order.lead_id, fct_order.owner_id,
        fct_order.business_unit, fct_order.product_line_code, fct_order.amount_cny
    )
    is distinct from (
        excluded.order_date, excluded.customer_id, excluded.lead_id, excluded.owner_id,
        excluded.business_unit, excluded.product_line_code, excluded.amount_cny
    );
