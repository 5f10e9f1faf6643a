-- LQ10: a lead marked ORDERED with no finance order dated within
-- ordered_match_days days of that change (reported on the first day that is
-- certain: ordered day + ordered_match_days + 1), or whose matching orders'
-- amount is off by more than ordered_amount_tolerance (reported on the later of
-- the ordered day and the last matching order). Skipped without finance data.
with win as (
    select
        cw.start_date,
        cw.end_date,
        cw.tz,
        cw.ordered_match_days,
        cw.ordered_amount_tolerance
    from dq.check_window as cw
),

ordered as (
    select distinct on (h.lead_id)
        h.lead_id,
        (h.changed_at at time zone w.tz)::date as ordered_day,
        h.amount_cny,
        h.owner_id
    from staging.lead_history as h
    inner join staging.lead as l on h.lead_id = l.lead_id
    cross join win as w
    where h.status = 'ORDERED' and l.deleted_at is null
    order by h.lead_id asc, h.changed_at asc, h.seq asc
),

matched as (
    select
        o.lead_id,
        sum(so.amount_cny) as order_cny,
        max(so.order_date) as last_order_date,
        jsonb_agg(so.order_id order by so.order_id) as order_ids
    from ordered as o
    inner join staging.sales_order as so on o.lead_id = so.lead_id
    cross join win as w
    where so.order_date between o.ordered_day - w.ordered_match_days and o.ordered_day + w.ordered_match_days
    group by o.lead_id
),

verdicts as (
    select
        o.lead_id,
        o.owner_id,
        o.ordered_day,
        o.amount_cny,
        m.order_cny,
        m.order_ids,
        case
            when m.lead_id is null then o.ordered_day + w.ordered_match_days + 1
            when abs(m.order_cny - o.amount_cny) > w.ordered_amount_tolerance * abs(o.amount_cny)
                then greatest(o.ordered_day, m.last_order_date)
        end as business_date,
        case when m.lead_id is null then 'no_order' else 'amount_off' end as kind
    from ordered as o
    left join matched as m on o.lead_id = m.lead_id
    cross join win as w
    where exists (select 1 from staging.sales_order)
)

select
    'LQ10' as rule_id,
    v.business_date,
    'lead' as entity_type,
    v.lead_id as entity_id,
    v.owner_id,
    'warn' as severity,
    jsonb_build_object(
        'kind', v.kind,
        'ordered_day', v.ordered_day,
        'lead_amount_cny', v.amount_cny,
        'order_amount_cny', v.order_cny,
        'order_ids', v.order_ids
    ) as details
from verdicts as v
cross join win as w
where v.business_date between w.start_date and w.end_date
