-- R6 Lead ledger: every lead open on the review date, open a week earlier,
-- or changed in the last 7 days, with the owner's org on the review date,
-- findings, the check flag (about the order) and the week-over-week change
-- against the lead's state on the review date minus 7 days:
-- NEW (no state a week ago), LOST (now lost or cancelled), WON (reached S5),
-- ADVANCED (higher stage, or pending order -> ordered), SLIPPED (lower stage
-- or expected order date later), else UNCHANGED.
delete from mart.rpt_lead_ledger where review_date = :review_date;

insert into mart.rpt_lead_ledger (
    review_date, lead_id, business_unit, product_line_code, customer_id, customer_name, owner_id,
    owner_name, team_id, region_code, stage_code, status, is_open, amount_cny, weighted_amount_cny,
    expected_tender_date, expected_order_date, expected_collection_date, expected_collection_cny,
    created_on, last_visit_date, days_since_update, finding_rule_ids, has_error_finding, is_gated,
    check_flag, check_reasons, prev_stage_code, prev_amount_cny, amount_change_cny, wow_change
)
-- The ledger's leads are found through indexes first (open on D, open on
-- D-7, a version begun in the last 7 days); only their states are read.
with ledger_ids as (
    select s.lead_id
    from dw.fct_lead_state as s
    where s.is_open and daterange(s.valid_from, s.valid_to) @> cast(:review_date as date)
    union
    select s.lead_id
    from dw.fct_lead_state as s
    where s.is_open and daterange(s.valid_from, s.valid_to) @> cast(:prev_date as date)
    union
    select s.lead_id
    from dw.fct_lead_state as s
    where s.valid_from > :prev_date and s.valid_from <= :review_date and s.valid_to > :review_date
),

leads_now as (
    select s.*
    from dw.fct_lead_state as s
    inner join ledger_ids as i on s.lead_id = i.lead_id
    where s.valid_from <= :review_date and s.valid_to > :review_date
),

leads_prev as (
    select s.*
    from dw.fct_lead_state as s
    inner join ledger_ids as i on s.lead_id = i.lead_id
    where s.valid_from <= :prev_date and s.valid_to > :prev_date
),

in_ledger as (
    select
        l.*,
        p.stage_code as prev_stage_code,
        p.amount_cny as prev_amount_cny,
        p.expected_order_date as prev_expected_order_date,
        coalesce(sn.stage_rank, 0) as rank_now,
        sp.stage_rank as rank_prev
    from leads_now as l
    left join leads_prev as p on l.lead_id = p.lead_id
    left join dw.dim_stage as sn on l.stage_code = sn.stage_code
    left join dw.dim_stage as sp on p.stage_code = sp.stage_code
    where l.is_open or coalesce(p.is_open, false) or l.valid_from > cast(:prev_date as date)
),

checks as (
    select k.*
    from mart.lead_check_on(
        cast(:review_date as date),
        cast(:red_no_update_days as integer),
        cast(:yellow_date_moved_days as integer),
        cast(:yellow_no_visit_days as integer),
        cast(:yellow_stage_unchanged_days as integer)
    ) as k
),

gated as (
    select g.lead_id
    from dw.fct_lead_gate as g
    where g.business_date = :review_date
)

select
    cast(:review_date as date) as review_date,
    l.lead_id,
    l.business_unit,
    l.product_line_code,
    l.customer_id,
    cu.name as customer_name,
    l.owner_id,
    e.name as owner_name,
    e.team_id,
    e.region_code,
    l.stage_code,
    l.status,
    l.is_open,
    l.amount_cny,
    round(l.amount_cny * st.win_probability, 2) as weighted_amount_cny,
    l.expected_tender_date,
    l.expected_order_date,
    l.expected_collection_date,
    l.expected_collection_cny,
    l.created_on,
    k.last_visit_date,
    cast(:review_date as date) - l.valid_from as days_since_update,
    coalesce(k.finding_rule_ids, '{}'::text[]) as finding_rule_ids,
    coalesce(k.has_error_finding, false) as has_error_finding,
    (g.lead_id is not null) as is_gated,
    coalesce(k.order_flag, 'GREEN') as check_flag,
    coalesce(k.order_reasons, '{}'::text[]) as check_reasons,
    l.prev_stage_code,
    l.prev_amount_cny,
    l.amount_cny - l.prev_amount_cny as amount_change_cny,
    case
        when l.prev_stage_code is null then 'NEW'
        when l.stage_code in ('LOST', 'CANCELLED') and l.prev_stage_code not in ('LOST', 'CANCELLED') then 'LOST'
        when l.rank_now = 5 and l.rank_prev < 5 then 'WON'
        when l.rank_now > l.rank_prev and l.prev_stage_code not in ('LOST', 'CANCELLED') then 'ADVANCED'
        when l.stage_code = 'S5_ORDERED' and l.prev_stage_code = 'S5_PENDING_ORDER' then 'ADVANCED'
        when l.is_open and (l.rank_now < l.rank_prev or l.expected_order_date > l.prev_expected_order_date)
            then 'SLIPPED'
        else 'UNCHANGED'
    end as wow_change
from in_ledger as l
left join dw.dim_stage as st on l.stage_code = st.stage_code
left join dw.employee_on(cast(:review_date as date)) as e on l.owner_id = e.employee_id
left join dw.customer_on(cast(:review_date as date)) as cu on l.customer_id = cu.customer_id
left join checks as k on l.lead_id = k.lead_id
left join gated as g on l.lead_id = g.lead_id;
