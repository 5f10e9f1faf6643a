-- Bid facts (tender date, price, competitors, result) of leads that have any.
--
-- Worked out whole for the changed leads into a temporary table; only the
-- difference is written (rows still exactly as stored stay untouched).
create temporary table tmp_bid on commit drop as
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

analyze tmp_bid;

-- rows of changed leads that no longer hold exactly as stored
delete from dw.fct_bid as s
where
    s.lead_id in (select c.lead_id from tmp_changed_leads as c)
    and not exists (
        select 1 from tmp_bid as t
        where
            t.lead_id = s.lead_id
            and (
                t.tender_date, t.bid_price_cny, t.competitors, t.bid_result, t.owner_id,
                t.customer_id, t.business_unit, t.product_line_code
            ) is not distinct from (
                s.tender_date, s.bid_price_cny, s.competitors, s.bid_result, s.owner_id,
                s.customer_id, s.business_unit, s.product_line_code
            )
    );

-- a full build also drops leads staging no longer has (skipped otherwise)
delete from dw.fct_bid as s
where
    cast(:full_build as boolean)
    and not exists (select 1 from staging.lead as l where l.lead_id = s.lead_id);

-- the new and changed rows: a row left with the same key is identical
-- (the delete above removed every other), so a conflict means nothing to write
insert into dw.fct_bid (
    lead_id, tender_date, bid_price_cny, competitors, bid_result, owner_id, customer_id,
    business_unit, product_line_code
)
select
    t.lead_id,
    t.tender_date,
    t.bid_price_cny,
    t.competitors,
    t.bid_result,
    t.owner_id,
    t.customer_id,
    t.business_unit,
    t.product_line_code
from tmp_bid as t
on conflict (lead_id) do nothing;
