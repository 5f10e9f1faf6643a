-- Invoices; product line and business unit from the invoiced order.
delete from dw.fct_invoice as f
where
    cast(:full_build as boolean)
    and not exists (select 1 from staging.invoice as s where s.invoice_id = f.invoice_id);

insert into dw.fct_invoice (
    invoice_id, order_id, invoice_date, due_date, customer_id, owner_id, business_unit,
    product_line_code, amount_cny
)
with invoices as (
    select
        i.invoice_id,
        i.order_id,
        i.invoice_date,
        i.due_date,
        coalesce(i.customer_id, o.customer_id) as customer_id,
        coalesce(i.owner_id, o.owner_id) as owner_id,
        o.business_unit,
        o.product_line_code,
        i.amount_cny
    from staging.invoice as i
    left join dw.fct_order as o on i.order_id = o.order_id
    where i.invoice_id in (
        select si.invoice_id from staging.invoice as si
        where si.loaded_at >= :since
        union
        select si.invoice_id from staging.invoice as si
        inner join staging.sales_order as so on si.order_id = so.order_id
        where so.loaded_at >= :since
    )
)

select
    invoice_id,
    order_id,
    invoice_date,
    due_date,
    customer_id,
    owner_id,
    business_unit,
    product_line_code,
    amount_cny
from invoices
on conflict (invoice_id) do update
    set
        order_id = excluded.order_id,
        invoice_date = excluded.invoice_date,
        due_date = excluded.due_date,
        customer_id = excluded.customer_id,
        owner_id = excluded.owner_id,
        business_unit = excluded.business_unit,
        product_line_code = excluded.product_line_code,
        amount_cny = excluded.amount_cny
    where (
        fct_invoice.order_id, fct_invoice.invoice_date, fct_invoice.due_date, fct_invoice.customer_id,
        fct_invoice.owner_id, fct_invoice.business_unit, fct_invoice.product_line_code, fct_invoice.amount_cny
    )
    is distinct from (
        excluded.order_id, excluded.invoice_date, excluded.due_date, excluded.customer_id,
        excluded.owner_id, excluded.business_unit, excluded.product_line_code, excluded.amount_cny
    );
