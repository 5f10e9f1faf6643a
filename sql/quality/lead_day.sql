-- dq.lead_day: every lead as it stood at the end of each business day of the
-- window (dq.check_window). State fields come from the lead's last history row
-- with changed_at before the end of the day (Asia/Shanghai), including the
-- customer, product line and bid facts where the source's history keeps them;
-- otherwise (and for the rest) from staging.lead. A lead without history keeps its current state on every day.
-- Deleted leads are left out: a lead entered by mistake is not a finding.
truncate dq.lead_day;

insert into dq.lead_day (
    business_date, lead_id, owner_id, customer_id, product_line_code, business_unit,
    stage, status, stage_raw, status_raw, stage_given, stage_status, stage_rank,
    amount_cny, expected_order_date, open_expected_order_date, bid_facts_missing, is_open,
    created_at, row_updated_at, future_limit
)
with win as (
    select
        start_date,
        end_date,
        tz,
        future_tolerance,
        start_date::timestamp at time zone tz as start_at
    from dq.check_window
),

-- Only the history rows the window can show are read in full: per lead, its last
-- change before the window (the state it enters the window with; one backward pass
-- over the history's primary key) and every change from the window's first day on.
-- A daily run on the latest day so reads a handful of rows per changed lead instead
-- of sorting the whole history.
before_window as (
    select distinct on (h.lead_id)
        h.lead_id,
        (h.changed_at at time zone (select w.tz from win as w))::date as change_day,
        h.stage,
        h.status,
        h.stage_raw,
        h.status_raw,
        h.amount_cny,
        h.owner_id,
        h.expected_order_date,
        h.customer_id,
        h.product_line_code,
        h.tender_date,
        h.bid_price_cny,
        h.competitors
    from staging.lead_history as h
    where h.changed_at < (select w.start_at from win as w)
    order by h.lead_id desc, h.changed_at desc, h.seq desc
),

from_window as (
    -- the last change of each lead on each local day from the window's first day on
    select distinct on (h.lead_id, (h.changed_at at time zone (select w.tz from win as w))::date)
        h.lead_id,
        (h.changed_at at time zone (select w.tz from win as w))::date as change_day,
        h.stage,
        h.status,
        h.stage_raw,
        h.status_raw,
        h.amount_cny,
        h.owner_id,
        h.expected_order_date,
        h.customer_id,
        h.product_line_code,
        h.tender_date,
        h.bid_price_cny,
        h.competitors
    from staging.lead_history as h
    where h.changed_at >= (select w.start_at from win as w)
    order by
        h.lead_id asc,
        (h.changed_at at time zone (select w.tz from win as w))::date asc,
        h.changed_at desc,
        h.seq desc
),

day_last_change as (
    select * from before_window
    union all
    select * from from_window
),

spans as (
    select
        c.*,
        -- the first known state also stands for the days before it
        case
            when lag(c.change_day) over lead_order is null then '-infinity'::date
            else c.change_day
        end as valid_from,
        coalesce(lead(c.change_day) over lead_order, 'infinity'::date) as valid_to,
        -- does this source keep the lead's other fields in its history? (a source that
        -- does not leaves them null on every row: the lead row then speaks for them)
        bool_or(c.customer_id is not null or c.product_line_code is not null)
            over lead_order as fields_in_read
    from day_last_change as c
    -- one window for all three (lag and lead ignore the frame; bool_or sees the
    -- whole lead): one pass instead of two
    window lead_order as (
        partition by c.lead_id order by c.change_day rows between unbounded preceding and unbounded following
    )
),

spans_checked as (
    select
        s.*,
        -- a lead whose rows read here keep no fields may have older rows that do
        s.fields_in_read or exists (
            select 1
            from staging.lead_history as h
            where
                h.lead_id = s.lead_id
                and h.changed_at < (select w.start_at from win as w)
                and (h.customer_id is not null or h.product_line_code is not null)
                -- only the last change of its day counts, as in day_last_change
                and not exists (
                    select 1
                    from staging.lead_history as later
                    where
                        later.lead_id = h.lead_id
                        and (later.changed_at, later.seq) > (h.changed_at, h.seq)
                        and (later.changed_at at time zone (select w.tz from win as w))::date
                        = (h.changed_at at time zone (select w.tz from win as w))::date
                )
        ) as history_has_fields
    from spans as s
),

lead_span as (
    select
        l.lead_id,
        case when s.history_has_fields then s.customer_id else l.customer_id end as customer_id,
        case when s.history_has_fields then s.product_line_code else l.product_line_code end as product_line_code,
        l.business_unit,
        l.created_at,
        case when s.history_has_fields then s.tender_date else l.tender_date end as tender_date,
        case when s.history_has_fields then s.bid_price_cny else l.bid_price_cny end as bid_price_cny,
        case when s.history_has_fields then s.competitors else l.competitors end as competitors,
        s.lead_id is not null as has_history,
        coalesce(s.valid_to = 'infinity'::date, true) as is_last_span,
        case when s.lead_id is null then l.stage else s.stage end as stage,
        case when s.lead_id is null then l.status else s.status end as status,
        case when s.lead_id is null then l.stage_raw else s.stage_raw end as stage_raw,
        case when s.lead_id is null then l.status_raw else s.status_raw end as status_raw,
        case when s.lead_id is null then l.amount_cny else s.amount_cny end as amount_cny,
        case when s.lead_id is null then l.owner_id else s.owner_id end as owner_id,
        case when s.lead_id is null then l.expected_order_date else s.expected_order_date end as expected_order_date,
        l.updated_at,
        greatest(w.start_date, (l.created_at at time zone w.tz)::date, s.valid_from) as first_day,
        least(w.end_date, s.valid_to - 1) as last_day
    from staging.lead as l
    cross join win as w
    left join spans_checked as s
        on
            l.lead_id = s.lead_id
            and w.start_date < s.valid_to
            and w.end_date >= s.valid_from
    where l.deleted_at is null
),

lead_days as (
    select
        g.business_date::date as business_date,
        ls.*,
        ls.stage in ('S1', 'S2', 'S3', 'S4') and ls.status = 'OPEN'
        or ls.stage = 'S5' and ls.status in ('OPEN', 'PENDING_ORDER')
        or ls.stage is null and ls.status in ('OPEN', 'PENDING_ORDER')
        or ls.status is null and (ls.stage in ('S1', 'S2', 'S3', 'S4', 'S5') or ls.stage is null) as is_open
    from lead_span as ls
    cross join lateral generate_series(ls.first_day::timestamp, ls.last_day::timestamp, interval '1 day') as g (business_date)
    where ls.first_day <= ls.last_day
)

select
    d.business_date,
    d.lead_id,
    d.owner_id,
    d.customer_id,
    d.product_line_code,
    d.business_unit,
    d.stage,
    d.status,
    d.stage_raw,
    d.status_raw,
    coalesce(d.stage, d.stage_raw) as stage_given,
    case
        when coalesce(d.stage, d.stage_raw) is not null
            then coalesce(d.stage, '?') || '/' || coalesce(d.status, '?')
    end as stage_status,
    case d.stage when 'S1' then 1 when 'S2' then 2 when 'S3' then 3 when 'S4' then 4 when 'S5' then 5 end as stage_rank,
    d.amount_cny,
    d.expected_order_date,
    case when d.is_open then d.expected_order_date end as open_expected_order_date,
    case
        when d.is_open and d.stage in ('S4', 'S5')
            then nullif(concat_ws(
                ',',
                case when d.tender_date is null then 'tender_date' end,
                case when d.bid_price_cny is null then 'bid_price_cny' end,
                case when nullif(trim(d.competitors), '') is null then 'competitors' end
            ), '')
    end as bid_facts_missing,
    d.is_open,
    d.created_at,
    -- the lead row's timestamps describe the state since its last change only
    case when d.is_last_span then d.updated_at end as row_updated_at,
    ((d.business_date + 1)::timestamp at time zone (select w.tz from win as w))
    + (select w.future_tolerance from win as w) as future_limit
from lead_days as d
