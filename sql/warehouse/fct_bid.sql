-- Bid facts (tender date, price, competitors, result) of leads that have any.
delete from dw.fct_bid as b
where b.lead_id in (select c.lead_id from tmp_changed_leads as c);

-- a full build also drops leads staging no longer has (skipped otherwise)
delete from dw.fct_bid as b
where
    cast(:full_build as boolean)
    and not exists (select 1 from staging.lead as l where l.lead_id = b.lead_id);

insert into dw.fct_bid (
    lead_id, tender_date, bid_price_cny, competitors, bid_result, owner_id, customer_id,
    business_unit, product_line_code
)
with bids as (
    select
        l.lead_id,
        l.tender_date,
        l.bid_price_cny,
        l.competitors,
        l.bid_result,
        l.owner_id,
        l.customer_id,
        coalesce(p.business_unit, l.business_unit) as business_unit,
        l.product_line_code
    from staging.lead as l
    inner join tmp_changed_leads as c on l.lead_id = c.lead_id
    left join staging.product_line as p on l.product_line_code = p.product_line_code
    where
        l.deleted_at is null
        and (
            l.tender_date is not null or l.bid_price_cny is not null
            or l.competitors is not null or l.bid_result is not null
        )
)

select
    lead_id,
    tender_date,
    bid_price_cny,
    competitors,
    bid_result,
    owner_id,
    customer_id,
    business_unit,
    product_line_code
from bids;
