-- Every change of stage or status in a lead's history (for funnel movement,
-- LQ04-style skips and backward moves, and the ledger's week-over-week change).
--
-- Worked out whole for the changed leads into a temporary table; only the
-- difference is written (rows still exactly as stored stay untouched).
create temporary table tmp_lead_stage_change on commit drop as
with history as (
    select
        h.lead_id,
        h.changed_at,
        h.seq,
        h.stage,
        h.status,
        h.owner_id,
        h.amount_cny,
        lag(h.stage) over w as from_stage,
        lag(h.status) over w as from_status,
        row_number() over w as row_no
    from staging.lead_history as h
    inner join tmp_changed_leads as c on h.lead_id = c.lead_id
    inner join staging.lead as l on h.lead_id = l.lead_id
    window w as (partition by h.lead_id order by h.changed_at, h.seq)
),

changes as (
    select
        h.*,
        fs.stage_rank as from_rank,
        ts.stage_rank as to_rank
    from history as h
    left join dw.dim_stage as fs on h.from_stage = fs.stage and fs.stage_rank > 0
    left join dw.dim_stage as ts on h.stage = ts.stage and ts.stage_rank > 0
    where h.row_no = 1 or (h.from_stage, h.from_status) is distinct from (h.stage, h.status)
)

select distinct on (c.lead_id, c.changed_at, c.seq)
    c.lead_id,
    c.changed_at,
    c.seq,
    (c.changed_at at time zone :tz)::date as change_date,
    c.from_stage,
    c.stage as to_stage,
    c.from_status,
    c.status as to_status,
    c.to_rank - c.from_rank as stage_steps,
    coalesce(c.to_rank < c.from_rank, false) as is_backward,
    c.owner_id,
    c.amount_cny
from changes as c
order by c.lead_id asc, c.changed_at asc, c.seq asc;

analyze tmp_lead_stage_change;

-- rows of changed leads that no longer hold exactly as stored
delete from dw.fct_lead_stage_change as s
where
    s.lead_id in (select c.lead_id from tmp_changed_leads as c)
    and not exists (
        select 1 from tmp_lead_stage_change as t
        where
            t.lead_id = s.lead_id and t.changed_at = s.changed_at and t.seq = s.seq
            and (
                t.change_date, t.from_stage, t.to_stage, t.from_status, t.to_status,
                t.stage_steps, t.is_backward, t.owner_id, t.amount_cny
            ) is not distinct from (
                s.change_date, s.from_stage, s.to_stage, s.from_status, s.to_status,
                s.stage_steps, s.is_backward, s.owner_id, s.amount_cny
            )
    );

-- a full build also drops leads staging no longer has (skipped otherwise)
delete from dw.fct_lead_stage_change as s
where
    cast(:full_build as boolean)
    and not exists (select 1 from staging.lead as l where l.lead_id = s.lead_id);

-- the new and changed rows: a row left with the same key is identical
-- (the delete above removed every other), so a conflict means nothing to write
insert into dw.fct_lead_stage_change (
    lead_id, changed_at, seq, change_date, from_stage, to_stage, from_status, to_status,
    stage_steps, is_backward, owner_id, amount_cny
)
select
    t.lead_id,
    t.changed_at,
    t.seq,
    t.change_date,
    t.from_stage,
    t.to_stage,
    t.from_status,
    t.to_status,
    t.stage_steps,
    t.is_backward,
    t.owner_id,
    t.amount_cny
from tmp_lead_stage_change as t
on conflict (lead_id, changed_at, seq) do nothing;
