-- Lead state as validity ranges: one row per lead version [valid_from, valid_to)
-- in business days. The state on day D is the one after the last change made
-- on or before D (two changes in one day: the later wins); consecutive days
-- with an identical state merge; from the creation day to the first change
-- day the lead is as its first change says; a deleted lead ends on its
-- deletion day. Leads without history rows
-- get one version from staging.lead. Static attributes (customer, product
-- line -> business unit) come from the lead row.
--
-- The versions of the changed leads are worked out whole into a temporary
-- table, then only the difference is written: a version that is still exactly
-- as stored stays untouched (a day's new change typically closes the current
-- version and adds one, so two rows are written, not every version of the lead).
create temporary table tmp_lead_state on commit drop as
with leads as (
    select
        l.lead_id,
        l.customer_id,
        l.product_line_code,
        coalesce(p.business_unit, l.business_unit) as business_unit,
        (l.created_at at time zone :tz)::date as created_on,
        coalesce((l.deleted_at at time zone :tz)::date, 'infinity') as deleted_on
    from staging.lead as l
    inner join tmp_changed_leads as c on l.lead_id = c.lead_id
    left join staging.product_line as p on l.product_line_code = p.product_line_code
),

ordered as (
    select
        h.lead_id,
        (h.changed_at at time zone :tz)::date as change_day,
        h.changed_at,
        h.stage,
        h.status,
        h.amount_cny,
        h.owner_id,
        h.expected_tender_date,
        h.expected_order_date,
        h.expected_collection_date,
        h.expected_collection_cny,
        row_number() over w as row_no,
        lead((h.changed_at at time zone :tz)::date) over w as next_change_day
    from staging.lead_history as h
    inner join tmp_changed_leads as c on h.lead_id = c.lead_id
    window w as (partition by h.lead_id order by h.changed_at, h.seq)
),

-- the last change of each day, in one ordered pass over the history
history as (
    select
        o.lead_id,
        o.change_day as from_day,
        o.changed_at,
        o.stage,
        o.status,
        o.amount_cny,
        o.owner_id,
        o.expected_tender_date,
        o.expected_order_date,
        o.expected_collection_date,
        o.expected_collection_cny
    from ordered as o
    where o.next_change_day is null or o.next_change_day > o.change_day
),

-- from the creation day to the first change day: as the first change says
before_first_change as (
    select
        o.lead_id,
        l.created_on as from_day,
        o.changed_at,
        o.stage,
        o.status,
        o.amount_cny,
        o.owner_id,
        o.expected_tender_date,
        o.expected_order_date,
        o.expected_collection_date,
        o.expected_collection_cny
    from ordered as o
    inner join leads as l on o.lead_id = l.lead_id
    where o.row_no = 1 and l.created_on < o.change_day
),

without_history as (
    select
        l.lead_id,
        (coalesce(l.updated_at, l.created_at) at time zone :tz)::date as from_day,
        coalesce(l.updated_at, l.created_at) as changed_at,
        l.stage,
        l.status,
        l.amount_cny,
        l.owner_id,
        l.expected_tender_date,
        l.expected_order_date,
        l.expected_collection_date,
        l.expected_collection_cny
    from staging.lead as l
    inner join tmp_changed_leads as c on l.lead_id = c.lead_id
    where not exists (select 1 from staging.lead_history as h where h.lead_id = l.lead_id)
),

day_states as (
    select * from history
    union all
    select * from without_history
    union all
    select * from before_first_change
),

previous as (
    select
        d.*,
        row_number() over w as day_no,
        lag(d.stage) over w as prev_stage,
        lag(d.status) over w as prev_status,
        lag(d.amount_cny) over w as prev_amount_cny,
        lag(d.owner_id) over w as prev_owner_id,
        lag(d.expected_tender_date) over w as prev_expected_tender_date,
        lag(d.expected_order_date) over w as prev_expected_order_date,
        lag(d.expected_collection_date) over w as prev_expected_collection_date,
        lag(d.expected_collection_cny) over w as prev_expected_collection_cny
    from day_states as d
    window w as (partition by d.lead_id order by d.from_day)
),

versions as (
    select
        p.*,
        lead(p.from_day) over (partition by p.lead_id order by p.from_day) as next_day
    from previous as p
    where
        p.day_no = 1
        or (
            p.stage, p.status, p.amount_cny, p.owner_id, p.expected_tender_date, p.expected_order_date,
            p.expected_collection_date, p.expected_collection_cny
        )
        is distinct from (
            p.prev_stage, p.prev_status, p.prev_amount_cny, p.prev_owner_id, p.prev_expected_tender_date,
            p.prev_expected_order_date, p.prev_expected_collection_date, p.prev_expected_collection_cny
        )
),

ranged as (
    select
        v.*,
        l.customer_id,
        l.product_line_code,
        l.business_unit,
        l.created_on,
        v.from_day as valid_from,
        least(coalesce(v.next_day, 'infinity'), l.deleted_on) as valid_to,
        case
            when v.stage = 'S5' and v.status = 'ORDERED' then 'S5_ORDERED'
            when v.stage = 'S5' then 'S5_PENDING_ORDER'
            when v.stage in ('S1', 'S2', 'S3', 'S4') and v.status in ('LOST', 'CANCELLED') then v.status
            else v.stage
        end as stage_code
    from versions as v
    inner join leads as l on v.lead_id = l.lead_id
),

final as (
    select
        r.*,
        coalesce(
            (r.stage in ('S1', 'S2', 'S3', 'S4') and coalesce(r.status, 'OPEN') = 'OPEN')
            or (r.stage = 'S5' and r.status = 'PENDING_ORDER'),
            false
        ) as is_open
    from ranged as r
    where r.valid_to > r.valid_from
)

select
    lead_id,
    valid_from,
    valid_to,
    changed_at,
    stage,
    status,
    stage_code,
    is_open,
    amount_cny,
    owner_id,
    expected_tender_date,
    expected_order_date,
    expected_collection_date,
    expected_collection_cny,
    business_unit,
    product_line_code,
    customer_id,
    created_on
from final;

analyze tmp_lead_state;

-- versions of changed leads that no longer hold exactly as stored
delete from dw.fct_lead_state as s
where
    s.lead_id in (select c.lead_id from tmp_changed_leads as c)
    and not exists (
        select 1 from tmp_lead_state as t
        where
            t.lead_id = s.lead_id
            and t.valid_from = s.valid_from
            and (
                t.valid_to, t.changed_at, t.stage, t.status, t.stage_code, t.is_open, t.amount_cny,
                t.owner_id, t.expected_tender_date, t.expected_order_date, t.expected_collection_date,
                t.expected_collection_cny, t.business_unit, t.product_line_code, t.customer_id,
                t.created_on
            ) is not distinct from (
                s.valid_to, s.changed_at, s.stage, s.status, s.stage_code, s.is_open, s.amount_cny,
                s.owner_id, s.expected_tender_date, s.expected_order_date, s.expected_collection_date,
                s.expected_collection_cny, s.business_unit, s.product_line_code, s.customer_id,
                s.created_on
            )
    );

-- a full build also drops leads staging no longer has (skipped otherwise)
delete from dw.fct_lead_state as s
where
    cast(:full_build as boolean)
    and not exists (select 1 from staging.lead as l where l.lead_id = s.lead_id);

-- the new and changed versions: a row left with the same key is identical
-- (the delete above removed every other), so a conflict means nothing to write
insert into dw.fct_lead_state (
    lead_id, valid_from, valid_to, changed_at, stage, status, stage_code, is_open, amount_cny,
    owner_id, expected_tender_date, expected_order_date, expected_collection_date,
    expected_collection_cny, business_unit, product_line_code, customer_id, created_on
)
select
    t.lead_id,
    t.valid_from,
    t.valid_to,
    t.changed_at,
    t.stage,
    t.status,
    t.stage_code,
    t.is_open,
    t.amount_cny,
    t.owner_id,
    t.expected_tender_date,
    t.expected_order_date,
    t.expected_collection_date,
    t.expected_collection_cny,
    t.business_unit,
    t.product_line_code,
    t.customer_id,
    t.created_on
from tmp_lead_state as t
on conflict (lead_id, valid_from) do nothing;
