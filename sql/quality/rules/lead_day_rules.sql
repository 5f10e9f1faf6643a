-- Every rule on a lead's state of the day, in ONE scan of dq.lead_day (every
-- lead as it stood at the end of each day of dq.check_window):
--   LQ01 error  customer, owner, product line, stage (mapped or raw), amount and
--               expected order date present
--   LQ02 error  amount_cny > 0
--   LQ02 warn   amount_cny > outlier_p99_multiple x the p99 of its product line's
--               amounts > 0 (current, undeleted leads)
--   LQ03 error  stage/status a valid pair after mapping ('?' = unmapped name)
--   LQ05 warn   open, expected order date before the day
--   LQ06 warn   open S3+ without a visit in the last no_visit_days days
--   LQ07 warn   another lead open that day with the same customer and product line
--               and an amount within duplicate_amount_tolerance of the larger one
--   LQ09 warn   open S4/S5 without tender date, bid price or (non-blank) competitors
--   LQ12 error  open, owner unknown, not yet hired or past left_on
--   LQ13 error  the lead row's updated_at before created_at, or after the end of
--               the day + future_tolerance
-- Row rules name the failing test in details.problems (the label of their
-- expectation in earlier releases); the others keep their own details.
with win as (
    select
        cw.tz,
        cw.outlier_p99_multiple,
        cw.no_visit_days,
        cw.duplicate_amount_tolerance
    from dq.check_window as cw
),

ld as materialized (
    select
        d.business_date,
        d.lead_id,
        d.owner_id,
        d.customer_id,
        d.product_line_code,
        d.stage,
        d.stage_given,
        d.stage_status,
        d.stage_rank,
        d.amount_cny,
        d.expected_order_date,
        d.open_expected_order_date,
        d.bid_facts_missing,
        d.is_open,
        d.created_at,
        d.row_updated_at,
        d.future_limit
    from dq.lead_day as d
),

line_p99 as (
    select
        l.product_line_code,
        percentile_cont(0.99) within group (order by l.amount_cny)::numeric as p99_cny,
        max(w.outlier_p99_multiple)
        * (percentile_cont(0.99) within group (order by l.amount_cny))::numeric as limit_cny,
        max(w.outlier_p99_multiple) as multiple
    from staging.lead as l
    cross join win as w
    where l.amount_cny > 0 and l.deleted_at is null
    group by l.product_line_code
),

row_problems as (
    -- the row rules: one row per failing test, grouped per rule below
    select
        ld.business_date,
        ld.lead_id,
        ld.owner_id,
        p.rule_id,
        p.severity,
        p.problem
    from ld
    cross join
        lateral (
            values
            ('LQ01', 'error', 'expect_column_values_to_not_be_null(customer_id)', ld.customer_id is null),
            ('LQ01', 'error', 'expect_column_values_to_not_be_null(owner_id)', ld.owner_id is null),
            (
                'LQ01', 'error', 'expect_column_values_to_not_be_null(product_line_code)',
                ld.product_line_code is null
            ),
            ('LQ01', 'error', 'expect_column_values_to_not_be_null(stage_given)', ld.stage_given is null),
            ('LQ01', 'error', 'expect_column_values_to_not_be_null(amount_cny)', ld.amount_cny is null),
            (
                'LQ01', 'error', 'expect_column_values_to_not_be_null(expected_order_date)',
                ld.expected_order_date is null
            ),
            ('LQ02', 'error', 'expect_column_values_to_be_between(amount_cny)', ld.amount_cny <= 0),
            (
                'LQ03', 'error', 'expect_column_values_to_be_in_set(stage_status)',
                ld.stage_status not in (
                    'S1/OPEN', 'S1/LOST', 'S1/CANCELLED', 'S2/OPEN', 'S2/LOST', 'S2/CANCELLED',
                    'S3/OPEN', 'S3/LOST', 'S3/CANCELLED', 'S4/OPEN', 'S4/LOST', 'S4/CANCELLED',
                    'S5/OPEN', 'S5/PENDING_ORDER', 'S5/ORDERED', 'S5/LOST', 'S5/CANCELLED',
                    'LOST/LOST', 'CANCELLED/CANCELLED'
                )
            ),
            (
                'LQ05', 'warn', 'expect_column_pair_values_a_to_be_greater_than_b(open_expected_order_date)',
                ld.open_expected_order_date < ld.business_date
            ),
            ('LQ09', 'warn', 'expect_column_values_to_be_null(bid_facts_missing)', ld.bid_facts_missing is not null),
            (
                'LQ13', 'error', 'expect_column_pair_values_a_to_be_greater_than_b(row_updated_at)',
                ld.row_updated_at < ld.created_at
            ),
            (
                'LQ13', 'error', 'expect_column_pair_values_a_to_be_greater_than_b(future_limit)',
                ld.future_limit < ld.row_updated_at
            )
        ) as p (rule_id, severity, problem, failed)
    where
        p.failed
        -- the same tests once more, as one cheap filter before the per-test rows
        and (
            ld.customer_id is null or ld.owner_id is null or ld.product_line_code is null
            or ld.stage_given is null or ld.amount_cny is null or ld.expected_order_date is null
            or ld.amount_cny <= 0
            or ld.stage_status not in (
                'S1/OPEN', 'S1/LOST', 'S1/CANCELLED', 'S2/OPEN', 'S2/LOST', 'S2/CANCELLED',
                'S3/OPEN', 'S3/LOST', 'S3/CANCELLED', 'S4/OPEN', 'S4/LOST', 'S4/CANCELLED',
                'S5/OPEN', 'S5/PENDING_ORDER', 'S5/ORDERED', 'S5/LOST', 'S5/CANCELLED',
                'LOST/LOST', 'CANCELLED/CANCELLED'
            )
            or ld.open_expected_order_date < ld.business_date
            or ld.bid_facts_missing is not null
            or ld.row_updated_at < ld.created_at
            or ld.future_limit < ld.row_updated_at
        )
),

row_rules as (
    select
        rp.rule_id,
        rp.business_date,
        rp.lead_id,
        rp.owner_id,
        max(rp.severity) as severity,
        jsonb_build_object('problems', jsonb_agg(rp.problem order by rp.problem)) as details
    from row_problems as rp
    group by rp.business_date, rp.rule_id, rp.lead_id, rp.owner_id
),

lq02_outlier as (
    select
        'LQ02' as rule_id,
        ld.business_date,
        ld.lead_id,
        ld.owner_id,
        'warn' as severity,
        jsonb_build_object(
            'amount_cny', ld.amount_cny,
            'line_p99_cny', round(p.p99_cny, 2),
            'limit_cny', round(p.multiple * p.p99_cny, 2)
        ) as details
    from ld
    inner join line_p99 as p on ld.product_line_code = p.product_line_code and ld.amount_cny > p.limit_cny
),

lq06_no_visit as (
    select
        'LQ06' as rule_id,
        ld.business_date,
        ld.lead_id,
        ld.owner_id,
        'warn' as severity,
        jsonb_build_object('stage', ld.stage, 'last_visit_date', lv.last_visit_date) as details
    from ld
    cross join win as w
    left join lateral (
        -- an index probe (staging.visit (lead_id, visited_at)) per open S3+ lead-day
        select max((v.visited_at at time zone w.tz)::date) as last_visit_date
        from staging.visit as v
        where
            v.lead_id = ld.lead_id
            and v.visited_at < (ld.business_date + 1)::timestamp at time zone w.tz
    ) as lv on true
    where
        ld.is_open
        and ld.stage_rank >= 3
        and (lv.last_visit_date is null or lv.last_visit_date <= ld.business_date - w.no_visit_days)
),

shared_keys as (
    -- customer and product line with more than one open lead on a day
    select
        ld.business_date,
        ld.customer_id,
        ld.product_line_code
    from ld
    where ld.is_open and ld.customer_id is not null and ld.product_line_code is not null
    group by ld.business_date, ld.customer_id, ld.product_line_code
    having count(*) > 1
),

open_keyed as (
    select
        ld.business_date,
        ld.lead_id,
        ld.owner_id,
        ld.customer_id,
        ld.product_line_code,
        ld.amount_cny
    from ld
    inner join shared_keys as k
        on
            ld.business_date = k.business_date
            and ld.customer_id = k.customer_id
            and ld.product_line_code = k.product_line_code
    where ld.is_open
),

lq07_duplicate as (
    select
        'LQ07' as rule_id,
        a.business_date,
        a.lead_id,
        a.owner_id,
        'warn' as severity,
        jsonb_build_object('duplicate_of', jsonb_agg(b.lead_id order by b.lead_id)) as details
    from open_keyed as a
    inner join open_keyed as b
        on
            a.business_date = b.business_date
            and a.customer_id = b.customer_id
            and a.product_line_code = b.product_line_code
            and a.lead_id <> b.lead_id
    cross join win as w
    where abs(a.amount_cny - b.amount_cny) <= w.duplicate_amount_tolerance * greatest(a.amount_cny, b.amount_cny)
    group by a.business_date, a.lead_id, a.owner_id
),

lq12_owner as (
    select
        'LQ12' as rule_id,
        ld.business_date,
        ld.lead_id,
        ld.owner_id,
        'error' as severity,
        jsonb_build_object(
            'known_employee', e.employee_id is not null, 'hired_on', e.hired_on, 'left_on', e.left_on
        ) as details
    from ld
    left join staging.employee as e on ld.owner_id = e.employee_id
    where
        ld.is_open
        and ld.owner_id is not null
        and (
            e.employee_id is null
            or e.hired_on > ld.business_date
            or e.left_on < ld.business_date
        )
),

hits as (
    select * from row_rules
    union all
    select * from lq02_outlier
    union all
    select * from lq06_no_visit
    union all
    select * from lq07_duplicate
    union all
    select * from lq12_owner
)

select
    h.rule_id,
    h.business_date,
    'lead' as entity_type,
    h.lead_id as entity_id,
    h.owner_id,
    h.severity,
    h.details
from hits as h
