-- LQ07: two leads open on the same day for the same customer and product
-- line whose amounts are within duplicate_amount_tolerance of the larger one.
-- Both leads of a pair are reported.
with win as (
    select cw.duplicate_amount_tolerance from dq.check_window as cw
),

pairs as (
    select
        a.business_date,
        a.lead_id,
        a.owner_id,
        b.lead_id as other_lead_id
    from dq.lead_day as a
    inner join dq.lead_day as b
        on
            a.business_date = b.business_date
            and a.customer_id = b.customer_id
            and a.product_line_code = b.product_line_code
            and a.lead_id <> b.lead_id
            and b.is_open
    cross join win as w
    where
        a.is_open
        and abs(a.amount_cny - b.amount_cny) <= w.duplicate_amount_tolerance * greatest(a.amount_cny, b.amount_cny)
)

select
    'LQ07' as rule_id,
    p.business_date,
    'lead' as entity_type,
    p.lead_id as entity_id,
    p.owner_id,
    'warn' as severity,
    jsonb_build_object('duplicate_of', jsonb_agg(p.other_lead_id order by p.other_lead_id)) as details
from pairs as p
group by p.business_date, p.lead_id, p.owner_id
