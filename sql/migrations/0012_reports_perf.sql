-- Report speed (issue 9): the daily marts on the large profile.
--
-- * dw.lead_state_on(D) reads the open versions of D straight from
--   dw.fct_lead_state (GiST index) instead of filtering the all-days view
--   dw.fct_lead_snapshot, and leaves the gated leads out with a hashed NOT IN
--   over the gate of D. The view's NOT EXISTS became a nested-loop anti join
--   whenever the gate rows of D were newer than the table's statistics (every
--   incremental day): 72,608 x 7,253 comparisons, 55 s for R5 alone.
--   Same rows: lead_id is the gate's key and never null.
-- * mart.lead_check_for(D, lead_ids, ...) evaluates the check flags of the
--   given leads only (the TOP lists need ~20,000 of the ~140,000 leads
--   mart.lead_check_on evaluates); mart.lead_check_on(D, ...) is
--   lead_check_for with lead_ids null (every lead open on D or closed in the
--   35 days before), so there is one definition of the flags.
-- * lead_state_closed_stage_ix: the closed versions a TOP list can take (S4 /
--   pending-order versions that are not open, S5 ordered versions begun in the
--   month), so the lists read those instead of every lead's state on D.
-- * lead_state_from_ix: the versions begun in the last 7 days, for the lead
--   ledger (R6), which reads the states of its own leads only.

create or replace function dw.lead_state_on(as_of date)
returns setof dw.fct_lead_snapshot
language sql stable
as $$
    select
        d.date_key as snapshot_date,
        s.lead_id,
        s.stage,
        s.status,
        s.stage_code,
        s.amount_cny,
        st.win_probability,
        round(s.amount_cny * st.win_probability, 2) as weighted_amount_cny,
        s.owner_id,
        e.team_id as owner_team_id,
        e.region_code as owner_region_code,
        e.manager_id as owner_manager_id,
        s.business_unit,
        s.product_line_code,
        s.customer_id,
        s.expected_tender_date,
        s.expected_order_date,
        s.expected_collection_date,
        s.expected_collection_cny,
        s.created_on,
        s.valid_from as version_from
    from dw.dim_date as d
    inner join dw.fct_lead_state as s
        on s.is_open and daterange(s.valid_from, s.valid_to) @> d.date_key
    inner join dw.dim_stage as st on s.stage_code = st.stage_code
    left join dw.dim_employee as e
        on
            s.owner_id = e.employee_id
            and d.date_key >= e.valid_from
            and (e.valid_to is null or d.date_key < e.valid_to)
    where
        d.date_key = lead_state_on.as_of
        and s.lead_id not in (
            select g.lead_id from dw.fct_lead_gate as g
            where g.business_date = lead_state_on.as_of
        )
$$;

create or replace function mart.lead_check_for(
    as_of date,
    lead_ids text[],
    red_no_update_days integer,
    yellow_date_moved_days integer,
    yellow_no_visit_days integer,
    yellow_stage_unchanged_days integer
)
returns table (
    lead_id text,
    last_update_date date,
    days_since_update integer,
    last_visit_date date,
    days_since_visit integer,
    last_stage_change_date date,
    days_since_stage_change integer,
    has_error_finding boolean,
    finding_rule_ids text[],
    tender_done boolean,
    order_done boolean,
    collection_done boolean,
    tender_flag text,
    tender_reasons text[],
    order_flag text,
    order_reasons text[],
    collection_flag text,
    collection_reasons text[]
)
language sql stable
as $$
    with leads as (
        select s.*
        from dw.lead_any_state_on(lead_check_for.as_of) as s
        where lead_check_for.lead_ids is null and (s.is_open or s.valid_from >= lead_check_for.as_of - 35)
        union all
        select s.*
        from dw.fct_lead_state as s
        where
            s.lead_id = any(lead_check_for.lead_ids)
            and s.valid_from <= lead_check_for.as_of
            and s.valid_to > lead_check_for.as_of
            and (s.is_open or s.valid_from >= lead_check_for.as_of - 35)
    ),

    versions as (
        select
            s.lead_id,
            s.valid_from,
            s.expected_tender_date,
            s.expected_order_date,
            s.expected_collection_date,
            lag(s.expected_tender_date) over w as prev_tender,
            lag(s.expected_order_date) over w as prev_order,
            lag(s.expected_collection_date) over w as prev_collection
        from dw.fct_lead_state as s
        where s.valid_from <= lead_check_for.as_of and s.lead_id in (select l.lead_id from leads as l)
        window w as (partition by s.lead_id order by s.valid_from)
    ),

    -- a version that began in the last N days with a later expected date than the one before
    moved as (
        select
            v.lead_id,
            coalesce(bool_or(v.expected_tender_date > v.prev_tender), false) as tender_moved,
            coalesce(bool_or(v.expected_order_date > v.prev_order), false) as order_moved,
            coalesce(bool_or(v.expected_collection_date > v.prev_collection), false) as collection_moved
        from versions as v
        where v.valid_from > lead_check_for.as_of - lead_check_for.yellow_date_moved_days
        group by v.lead_id
    ),

    visits as (
        select v.lead_id, max(v.visit_date) as last_visit_date
        from dw.fct_visit as v
        where v.visit_date <= lead_check_for.as_of and v.lead_id in (select l.lead_id from leads as l)
        group by v.lead_id
    ),

    stage_changes as (
        select c.lead_id, max(c.change_date) as last_stage_change_date
        from dw.fct_lead_stage_change as c
        where
            c.change_date <= lead_check_for.as_of
            and c.from_stage is distinct from c.to_stage
            and c.lead_id in (select l.lead_id from leads as l)
        group by c.lead_id
    ),

    collected as (
        select distinct o.lead_id
        from dw.fct_order as o
        inner join dw.fct_invoice as i on o.order_id = i.order_id
        inner join dw.fct_collection as k on i.invoice_id = k.invoice_id
        where k.collection_date <= lead_check_for.as_of and o.lead_id in (select l.lead_id from leads as l)
    ),

    findings as (
        select f.lead_id, f.rule_ids, f.has_error
        from dq.lead_findings_on(lead_check_for.as_of) as f
    ),

    facts as (
        select
            l.lead_id,
            l.valid_from as last_update_date,
            lead_check_for.as_of - l.valid_from as days_since_update,
            v.last_visit_date,
            lead_check_for.as_of - coalesce(v.last_visit_date, l.created_on, l.valid_from) as days_since_visit,
            coalesce(c.last_stage_change_date, l.created_on, l.valid_from) as last_stage_change_date,
            lead_check_for.as_of
            - coalesce(c.last_stage_change_date, l.created_on, l.valid_from) as days_since_stage_change,
            coalesce(f.has_error, false) as has_error_finding,
            coalesce(f.rule_ids, '{}'::text[]) as finding_rule_ids,
            (coalesce(b.tender_date <= lead_check_for.as_of, false) or st.stage_rank >= 5) as tender_done,
            (l.stage_code = 'S5_ORDERED') as order_done,
            (k.lead_id is not null) as collection_done,
            l.expected_tender_date,
            l.expected_order_date,
            l.expected_collection_date,
            coalesce(mv.tender_moved, false) as tender_moved,
            coalesce(mv.order_moved, false) as order_moved,
            coalesce(mv.collection_moved, false) as collection_moved
        from leads as l
        left join dw.dim_stage as st on l.stage_code = st.stage_code
        left join moved as mv on l.lead_id = mv.lead_id
        left join visits as v on l.lead_id = v.lead_id
        left join stage_changes as c on l.lead_id = c.lead_id
        left join collected as k on l.lead_id = k.lead_id
        left join findings as f on l.lead_id = f.lead_id
        left join dw.fct_bid as b on l.lead_id = b.lead_id
    ),

    common as (
        select
            x.*,
            array_remove(array[
                case when x.has_error_finding then 'ERROR_FINDING' end,
                case when x.days_since_update >= lead_check_for.red_no_update_days then 'NO_UPDATE' end
            ], null) as red_common,
            array_remove(array[
                case when x.days_since_visit >= lead_check_for.yellow_no_visit_days then 'NO_VISIT' end,
                case
                    when x.days_since_stage_change >= lead_check_for.yellow_stage_unchanged_days
                        then 'STAGE_UNCHANGED'
                end
            ], null) as yellow_common
        from facts as x
    ),

    per_event as (
        select
            c.*,
            array_remove(array[
                case when not c.tender_done and c.expected_tender_date < lead_check_for.as_of then 'EVENT_OVERDUE' end
            ], null) || c.red_common as tender_red,
            array_remove(array[
                case when c.tender_moved then 'DATE_MOVED_LATER' end
            ], null) || c.yellow_common as tender_yellow,
            array_remove(array[
                case when not c.order_done and c.expected_order_date < lead_check_for.as_of then 'EVENT_OVERDUE' end
            ], null) || c.red_common as order_red,
            array_remove(array[
                case when c.order_moved then 'DATE_MOVED_LATER' end
            ], null) || c.yellow_common as order_yellow,
            array_remove(array[
                case
                    when not c.collection_done and c.expected_collection_date < lead_check_for.as_of
                        then 'EVENT_OVERDUE'
                end
            ], null) || c.red_common as collection_red,
            array_remove(array[
                case when c.collection_moved then 'DATE_MOVED_LATER' end
            ], null) || c.yellow_common as collection_yellow
        from common as c
    )

    select
        p.lead_id,
        p.last_update_date,
        p.days_since_update,
        p.last_visit_date,
        p.days_since_visit,
        p.last_stage_change_date,
        p.days_since_stage_change,
        p.has_error_finding,
        p.finding_rule_ids,
        p.tender_done,
        p.order_done,
        p.collection_done,
        case
            when cardinality(p.tender_red) > 0 then 'RED'
            when cardinality(p.tender_yellow) > 0 then 'YELLOW' else 'GREEN'
        end,
        p.tender_red || p.tender_yellow,
        case
            when cardinality(p.order_red) > 0 then 'RED'
            when cardinality(p.order_yellow) > 0 then 'YELLOW' else 'GREEN'
        end,
        p.order_red || p.order_yellow,
        case
            when cardinality(p.collection_red) > 0 then 'RED'
            when cardinality(p.collection_yellow) > 0 then 'YELLOW' else 'GREEN'
        end,
        p.collection_red || p.collection_yellow
    from per_event as p
$$;

create or replace function mart.lead_check_on(
    as_of date,
    red_no_update_days integer,
    yellow_date_moved_days integer,
    yellow_no_visit_days integer,
    yellow_stage_unchanged_days integer
)
returns table (
    lead_id text,
    last_update_date date,
    days_since_update integer,
    last_visit_date date,
    days_since_visit integer,
    last_stage_change_date date,
    days_since_stage_change integer,
    has_error_finding boolean,
    finding_rule_ids text[],
    tender_done boolean,
    order_done boolean,
    collection_done boolean,
    tender_flag text,
    tender_reasons text[],
    order_flag text,
    order_reasons text[],
    collection_flag text,
    collection_reasons text[]
)
language sql stable
as $$
    select k.*
    from mart.lead_check_for(
        lead_check_on.as_of,
        null::text[],
        lead_check_on.red_no_update_days,
        lead_check_on.yellow_date_moved_days,
        lead_check_on.yellow_no_visit_days,
        lead_check_on.yellow_stage_unchanged_days
    ) as k
$$;

create index if not exists lead_state_closed_stage_ix on dw.fct_lead_state (stage_code, valid_from)
where not is_open and stage_code in ('S4', 'S5_PENDING_ORDER', 'S5_ORDERED');

-- The lead ledger (R6) finds the versions begun in the last 7 days.
create index if not exists lead_state_from_ix on dw.fct_lead_state (valid_from);
