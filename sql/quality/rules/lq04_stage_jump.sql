-- LQ04: a change that skips stage_skip_steps or more stages, or goes back
-- (S1..S5 order; LOST / CANCELLED are not steps). Reported on the change's day.
with win as (
    select
        cw.start_date,
        cw.end_date,
        cw.tz,
        cw.stage_skip_steps
    from dq.check_window as cw
),

ranked as (
    select
        h.lead_id,
        h.changed_at,
        h.seq,
        h.owner_id,
        h.stage,
        case h.stage when 'S1' then 1 when 'S2' then 2 when 'S3' then 3 when 'S4' then 4 when 'S5' then 5 end
            as stage_rank
    from staging.lead_history as h
    inner join staging.lead as l on h.lead_id = l.lead_id
    where l.deleted_at is null
),

changes as (
    select
        r.lead_id,
        r.changed_at,
        r.owner_id,
        r.stage,
        r.stage_rank,
        lag(r.stage) over lead_order as previous_stage,
        lag(r.stage_rank) over lead_order as previous_rank
    from ranked as r
    window lead_order as (partition by r.lead_id order by r.changed_at, r.seq)
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
)

select
    'LQ04' as rule_id,
    j.business_date,
    'lead' as entity_type,
    j.lead_id as entity_id,
    (array_agg(j.owner_id order by j.changed_at desc))[1] as owner_id,
    'warn' as severity,
    jsonb_build_object(
        'changes', jsonb_agg(
            jsonb_build_object('from', j.previous_stage, 'to', j.stage, 'kind', j.kind, 'changed_at', j.changed_at)
            order by j.changed_at
        )
    ) as details
from jumps as j
group by j.business_date, j.lead_id
