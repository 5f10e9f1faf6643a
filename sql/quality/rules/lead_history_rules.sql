-- Every rule on a lead's change history, in ONE ordered scan of
-- staging.lead_history (undeleted leads changed in the window or the
-- ordered_match_days + 1 days before it; per lead in changed_at, seq order):
--   LQ04 warn  a change skipping stage_skip_steps or more stages, or going back
--              (S1..S5; LOST / CANCELLED are not steps); reported on the change's day
--   LQ10 warn  the first change to ORDERED on day O: no finance order dated
--              O - ordered_match_days .. O + ordered_match_days -> reported on
--              O + ordered_match_days + 1; the matching orders' sum off by more
--              than ordered_amount_tolerance -> reported on the later of O and the
--              last matching order. Skipped without finance orders.
--   LQ11 warn  the first S4/S5 state within backfill_days days of the lead's
--              creation (likely back-filled); reported on that day
with win as (
    select
        cw.start_date,
        cw.end_date,
        cw.tz,
        cw.stage_skip_steps,
        cw.ordered_match_days,
        cw.ordered_amount_tolerance,
        cw.backfill_days,
        -- instants computed once (a time zone conversion per history row costs)
        (cw.start_date - cw.ordered_match_days - 1)::timestamp at time zone cw.tz as recent_from,
        (cw.end_date + 1)::timestamp at time zone cw.tz as window_end
    from dq.check_window as cw
),

ranked as (
    select
        h.lead_id,
        h.changed_at,
        h.seq,
        h.owner_id,
        h.stage,
        h.status,
        h.amount_cny,
        l.created_at,
        case h.stage when 'S1' then 1 when 'S2' then 2 when 'S3' then 3 when 'S4' then 4 when 'S5' then 5 end
            as stage_rank
    from staging.lead_history as h
    inner join staging.lead as l on h.lead_id = l.lead_id
    where
        l.deleted_at is null
        -- only leads changed in the window or in the ordered_match_days + 1 days before
        -- it can have a finding dated in the window (LQ10 reports at most that late)
        and h.lead_id in (
            select recent.lead_id
            from staging.lead_history as recent
            cross join win as w
            where
                recent.changed_at >= w.recent_from
                and recent.changed_at < w.window_end
        )
),

changes as materialized (
    select
        r.*,
        lag(r.stage) over lead_order as previous_stage,
        lag(r.stage_rank) over lead_order as previous_rank,
        -- running counts: 1 on the first ORDERED / first S4-S5 row of the lead
        count(*) filter (where r.status = 'ORDERED') over lead_order as ordered_n,
        count(*) filter (where r.stage in ('S4', 'S5')) over lead_order as s4_n
    from ranked as r
    window lead_order as (
        partition by r.lead_id order by r.changed_at, r.seq rows between unbounded preceding and current row
    )
),

jumps as (
    select
        c.lead_id,
        (c.changed_at at time zone w.tz)::date as business_date,
        c.changed_at,
        c.owner_id,
        c.previous_stage,
        c.stage,
        case when c.stage_rank < c.previous_rank then 'backwards' else 'skipped' end as kind
    from changes as c
    cross join win as w
    where
        (c.stage_rank - c.previous_rank - 1 >= w.stage_skip_steps or c.stage_rank < c.previous_rank)
        and (c.changed_at at time zone w.tz)::date between w.start_date and w.end_date
),

lq04 as (
    select
        'LQ04' as rule_id,
        j.business_date,
        j.lead_id,
        (array_agg(j.owner_id order by j.changed_at desc))[1] as owner_id,
        jsonb_build_object(
            'changes', jsonb_agg(
                jsonb_build_object(
                    'from', j.previous_stage, 'to', j.stage, 'kind', j.kind, 'changed_at', j.changed_at
                )
                order by j.changed_at
            )
        ) as details
    from jumps as j
    group by j.business_date, j.lead_id
),

ordered as (
    select
        c.lead_id,
        (c.changed_at at time zone w.tz)::date as ordered_day,
        c.amount_cny,
        c.owner_id
    from changes as c
    cross join win as w
    where c.status = 'ORDERED' and c.ordered_n = 1
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
            when m.orders = 0 then o.ordered_day + w.ordered_match_days + 1
            when abs(m.order_cny - o.amount_cny) > w.ordered_amount_tolerance * abs(o.amount_cny)
                then greatest(o.ordered_day, m.last_order_date)
        end as business_date,
        case when m.orders = 0 then 'no_order' else 'amount_off' end as kind
    from ordered as o
    cross join win as w
    cross join
        lateral (
            -- the finance orders dated around the ordered day (index probe per ordered lead)
            select
                count(*) as orders,
                sum(so.amount_cny) as order_cny,
                max(so.order_date) as last_order_date,
                jsonb_agg(so.order_id order by so.order_id) as order_ids
            from staging.sales_order as so
            where
                so.lead_id = o.lead_id
                and so.order_date between o.ordered_day - w.ordered_match_days and o.ordered_day + w.ordered_match_days
        ) as m
    where exists (select 1 from staging.sales_order)
),

lq10 as (
    select
        'LQ10' as rule_id,
        v.business_date,
        v.lead_id,
        v.owner_id,
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
),

lq11 as (
    select
        'LQ11' as rule_id,
        (c.changed_at at time zone w.tz)::date as business_date,
        c.lead_id,
        c.owner_id,
        jsonb_build_object('created_at', c.created_at, 'stage', c.stage, 'reached_at', c.changed_at) as details
    from changes as c
    cross join win as w
    where
        c.stage in ('S4', 'S5')
        and c.s4_n = 1
        and (c.changed_at at time zone w.tz)::date - (c.created_at at time zone w.tz)::date <= w.backfill_days
        and (c.changed_at at time zone w.tz)::date between w.start_date and w.end_date
),

hits as (
    select * from lq04
    union all
    select * from lq10
    union all
    select * from lq11
)

select
    h.rule_id,
    h.business_date,
    'lead' as entity_type,
    h.lead_id as entity_id,
    h.owner_id,
    'warn' as severity,
    h.details
from hits as h
