-- The reference for the checks' speed target: ONE hand-written query that
-- reads every table the checks read exactly once (staging.lead_history,
-- lead, visit, sales_order, employee, employee_assignment, customer,
-- daily_report) and counts, for the business day :business_date, the hits
-- of every rule from the state of each lead as of the end of that day. It
-- writes nothing and keeps no details: the floor a rule engine cannot beat.
-- Used by review_pipeline.quality.bench.measure_checks (checks / scan ratio).
with params as (
    select
        cast(:business_date as date) as d,
        (cast(:business_date as date) + 1)::timestamp at time zone :tz as day_end
),

hist as (
    -- one ordered pass over the history: the state at the end of D, the change
    -- before each change, the first ORDERED and the first S4/S5 state
    select
        h.lead_id,
        h.changed_at,
        h.stage,
        h.status,
        h.amount_cny,
        h.owner_id,
        h.expected_order_date,
        h.customer_id,
        h.product_line_code,
        h.tender_date,
        h.bid_price_cny,
        h.competitors,
        lag(h.stage) over w as previous_stage,
        lead(h.changed_at) over w as next_changed_at
    from staging.lead_history as h
    window w as (partition by h.lead_id order by h.changed_at, h.seq)
),

per_lead_history as (
    select
        x.lead_id,
        max(x.stage) filter (where x.is_state) as stage,
        max(x.status) filter (where x.is_state) as status,
        max(x.amount_cny) filter (where x.is_state) as amount_cny,
        max(x.owner_id) filter (where x.is_state) as owner_id,
        max(x.expected_order_date) filter (where x.is_state) as expected_order_date,
        max(x.customer_id) filter (where x.is_state) as customer_id,
        max(x.product_line_code) filter (where x.is_state) as product_line_code,
        bool_or(x.is_state and x.stage in ('S4', 'S5') and (
            x.tender_date is null or x.bid_price_cny is null or nullif(trim(x.competitors), '') is null
        )) as bid_facts_missing,
        bool_or(x.on_day and x.rank_step is not null and (x.rank_step >= 3 or x.rank_step < 0)) as jumped,
        min(x.changed_at) filter (where x.status = 'ORDERED') as ordered_at,
        min(x.changed_at) filter (where x.stage in ('S4', 'S5')) as s4_at
    from (
        select
            hh.*,
            hh.changed_at < p.day_end and (hh.next_changed_at is null or hh.next_changed_at >= p.day_end) as is_state,
            (hh.changed_at at time zone :tz)::date = p.d as on_day,
            nullif(substr(hh.stage, 2), '')::int - nullif(substr(hh.previous_stage, 2), '')::int as rank_step
        from hist as hh
        cross join params as p
        where hh.stage is null or hh.stage ~ '^S[1-5]$' or hh.stage in ('LOST', 'CANCELLED')
    ) as x
    group by x.lead_id
),

visits as (
    select
        v.lead_id,
        max(v.visited_at) as last_visit_at
    from staging.visit as v
    cross join params as p
    where v.visited_at < p.day_end
    group by v.lead_id
),

orders as (
    select
        so.lead_id,
        sum(so.amount_cny) as order_cny
    from staging.sales_order as so
    group by so.lead_id
),

leads as (
    select
        l.lead_id,
        l.created_at,
        l.updated_at,
        coalesce(h.stage, l.stage) as stage,
        coalesce(h.status, l.status) as status,
        coalesce(h.amount_cny, l.amount_cny) as amount_cny,
        coalesce(h.owner_id, l.owner_id) as owner_id,
        coalesce(h.expected_order_date, l.expected_order_date) as expected_order_date,
        coalesce(h.customer_id, l.customer_id) as customer_id,
        coalesce(h.product_line_code, l.product_line_code) as product_line_code,
        h.bid_facts_missing,
        h.jumped,
        h.ordered_at,
        h.s4_at,
        vi.last_visit_at,
        o.order_cny,
        e.hired_on,
        e.left_on,
        e.employee_id is not null as owner_known
    from staging.lead as l
    left join per_lead_history as h on l.lead_id = h.lead_id
    left join visits as vi on l.lead_id = vi.lead_id
    left join orders as o on l.lead_id = o.lead_id
    left join staging.employee as e on coalesce(h.owner_id, l.owner_id) = e.employee_id
    where l.deleted_at is null
),

lead_counts as (
    select
        count(*) as leads,
        count(*) filter (
            where
            ld.customer_id is null or ld.owner_id is null or ld.product_line_code is null
            or ld.stage is null or ld.amount_cny is null or ld.expected_order_date is null
        ) as lq01,
        count(*) filter (where ld.amount_cny <= 0) as lq02,
        count(*) filter (where ld.stage is null or ld.status is null) as lq03,
        count(*) filter (where ld.jumped) as lq04,
        count(*) filter (where ld.is_open and ld.expected_order_date < p.d) as lq05,
        count(*) filter (
            where ld.is_open and ld.stage in ('S3', 'S4', 'S5') and (
                ld.last_visit_at is null or ld.last_visit_at < p.day_end - interval '30 days'
            )
        ) as lq06,
        count(*) filter (where ld.is_open and ld.bid_facts_missing) as lq09,
        count(*) filter (
            where ld.ordered_at is not null and (
                ld.order_cny is null or abs(ld.order_cny - ld.amount_cny) > 0.2 * abs(ld.amount_cny)
            )
        ) as lq10,
        count(*) filter (where ld.s4_at < ld.created_at + interval '4 days') as lq11,
        count(*) filter (
            where ld.is_open and (not ld.owner_known or ld.hired_on > p.d or ld.left_on < p.d)
        ) as lq12,
        count(*) filter (
            where ld.updated_at < ld.created_at or ld.updated_at > p.day_end + interval '24 hours'
        ) as lq13,
        count(distinct ld.customer_id || '/' || ld.product_line_code) filter (where ld.is_open) as open_keys,
        count(*) filter (where ld.is_open) as open_leads
    from (
        select
            lv.*,
            coalesce(lv.status in ('OPEN', 'PENDING_ORDER'), false) as is_open
        from leads as lv
    ) as ld
    cross join params as p
),

customer_counts as (
    select
        count(*) filter (
            where
            c.account_tier is distinct from 'NON_NAMED' and (
                c.account_tier is null or c.industry_code is null or c.city_code is null
                or not dq.credit_code_valid(c.credit_code)
            )
        ) as lq08
    from (
        select distinct on (cv.customer_id) cv.*
        from staging.customer as cv
        cross join params as p
        where cv.valid_from < p.day_end
        order by cv.customer_id asc, cv.valid_from desc
    ) as c
),

report_counts as (
    select
        count(*) filter (where r.employee_id is null or r.submitted_at >= p.day_end) as dr01,
        count(*) filter (where r.approved_at is null or r.approved_at >= p.day_end + interval '1 day') as dr02
    from staging.employee_assignment as a
    cross join params as p
    left join staging.daily_report as r on a.employee_id = r.employee_id and p.d = r.report_date
    where a.role = 'SALESPERSON' and a.valid_from <= p.d and (a.valid_to is null or a.valid_to > p.d)
)

select
    lc.*,
    cc.lq08,
    rc.dr01,
    rc.dr02
from lead_counts as lc
cross join customer_counts as cc
cross join report_counts as rc
