-- Collections applied to invoices; product line and business unit via the invoice.
delete from dw.fct_collection as f
where
    cast(:full_build as boolean)
    and not exists (select 1 from staging.collection as s where s.collection_id = f.collection_id);

insert into dw.fct_collection (
    collection_id, invoice_id, collection_date, customer_id, owner_id, business_unit,
    product_line_code, amount_cny
)
with collections as (
    select
        c.collection_id,
        c.invoice_id,
        c.collection_date,
        coalesce(c.customer_id, i.customer_id) as customer_id,
        coalesce(c.owner_id, i.owner_id) as owner_id,
        i.business_unit,
        i.product_line_code,
        c.amount_cny
    from staging.collection as c
    left join dw.fct_invoice as i on c.invoice_id = i.invoice_id
    where c.collection_id in (
        select sc.collection_id from staging.collection as sc
        where sc.loaded_at >= :since
        union
        select sc.collection_id from staging.collection as sc
        inner join staging.invoice as si on sc.invoice_id = si.invoice_id
        where si.loaded_at >= :since
    )
)

select
    collection_id,
    invoice_id,
    collection_date,
    customer_id,
    owner_id,
    business_unit,
    product_line_code,
    amount_cny
from collections
on conflict (collection_id) do update
    set
        invoice_id = excluded.invoice_id,
        collection_date = excluded.collection_date,
        customer_id = excluded.customer_id,
        owner_id = excluded.owner_id,
        business_unit = excluded.business_unit,
        product_line_code = excluded.product_line_code,
        amount_cny = excluded.amount_cny
    where (
        fct_collection.invoice_id, fct_collection.collection_date, fct_collection.customer_id,
        fct_collection.owner_id, fct_collection.business_unit, fct_collection.product_line_code,
        fct_collection.amount_cny
    )
    is distinct from (
        excluded.invoice_id, excluded.collection_date, excluded.customer_id, excluded.owner_id,
        excluded.business_unit, excluded.product_line_code, excluded.amount_cny
    );
