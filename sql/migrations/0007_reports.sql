-- Review report marts (docs/reports.md): one table per report, rows kept per
-- review date (a rebuild of a date deletes and re-inserts that date's rows).
-- Aggregated reports hold one row per level (COMPANY, REGION, TEAM, PERSON)
-- with the org keys of that level, so any scope can be selected.
-- Money: numeric(18, 2) CNY. Ratios: numeric(12, 4), 1.0000 = 100 %.

-- Helpers read the warehouse (dw) and the checks (dq) only ---------------------

-- PERSON targets of the months from_month .. to_month (first days), at the
-- finest decomposition each person-month-measure has (product line x tier,
-- else line, else tier, else the total), with the person's org in that month
-- (the version valid on the 1st, else the first version starting in the month).
create or replace function mart.target_attributed(from_month date, to_month date)
returns table (
    month_start date,
    business_unit text,
    product_line_code text,
    account_tier text,
    measure text,
    owner_id text,
    region_code text,
    team_id text,
    amount_cny numeric(18, 2)
)
language sql stable
as $$
    with person_rows as (
        select
            t.month_start,
            t.business_unit,
            t.product_line_code,
            t.account_tier,
            t.measure,
            t.org_key as owner_id,
            t.amount_cny,
            case
                when t.product_line_code is not null and t.account_tier is not null then 1
                when t.product_line_code is not null then 2
                when t.account_tier is not null then 3
                else 4
            end as grain
        from dw.fct_target as t
        where
            t.level = 'PERSON'
            and t.month_start between target_attributed.from_month and target_attributed.to_month
    ),

    finest as (
        select
            p.*,
            min(p.grain) over (
                partition by p.owner_id, p.month_start, p.business_unit, p.measure
            ) as finest_grain
        from person_rows as p
    )

    select
        f.month_start,
        f.business_unit,
        f.product_line_code,
        f.account_tier,
        f.measure,
        f.owner_id,
        o.region_code,
        o.team_id,
        f.amount_cny
    from finest as f
    left join lateral (
        select e.region_code, e.team_id
        from dw.dim_employee as e
        where
            e.employee_id = f.owner_id
            and e.valid_from < (f.month_start + interval '1 month')::date
            and (e.valid_to is null or e.valid_to > f.month_start)
        order by (e.valid_from <= f.month_start) desc, e.valid_from desc
        limit 1
    ) as o on true
    where f.grain = f.finest_grain
$$;

-- The plan (first statement) of the months from_month .. to_month with the
-- stating person's org in the plan month.
create or replace function mart.plan_attributed(from_month date, to_month date)
returns table (
    plan_month date,
    business_unit text,
    product_line_code text,
    measure text,
    owner_id text,
    region_code text,
    team_id text,
    amount_cny numeric(18, 2)
)
language sql stable
as $$
    select
        p.plan_month,
        coalesce(p.business_unit, pl.business_unit),
        p.product_line_code,
        p.measure,
        p.employee_id,
        o.region_code,
        o.team_id,
        p.amount_cny
    from dw.fct_monthly_plan_first as p
    left join dw.dim_product_line as pl on p.product_line_code = pl.product_line_code
    left join lateral (
        select e.region_code, e.team_id
        from dw.dim_employee as e
        where
            e.employee_id = p.employee_id
            and e.valid_from < (p.plan_month + interval '1 month')::date
            and (e.valid_to is null or e.valid_to > p.plan_month)
        order by (e.valid_from <= p.plan_month) desc, e.valid_from desc
        limit 1
    ) as o on true
    where p.plan_month between plan_attributed.from_month and plan_attributed.to_month
$$;

-- Check flag inputs and flags of every lead that is open on as_of or whose
-- current version began in the 35 days before (closed recently), per event
-- the list is about (TENDER, ORDER, COLLECTION). See DOMAIN.md "Check flag".
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
    with leads as (
        select s.*
        from dw.lead_any_state_on(lead_check_on.as_of) as s
        where s.is_open or s.valid_from >= lead_check_on.as_of - 35
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
        where s.valid_from <= lead_check_on.as_of and s.lead_id in (select l.lead_id from leads as l)
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
        where v.valid_from > lead_check_on.as_of - lead_check_on.yellow_date_moved_days
        group by v.lead_id
    ),

    visits as (
        select v.lead_id, max(v.visit_date) as last_visit_date
        from dw.fct_visit as v
        where v.visit_date <= lead_check_on.as_of and v.lead_id in (select l.lead_id from leads as l)
        group by v.lead_id
    ),

    stage_changes as (
        select c.lead_id, max(c.change_date) as last_stage_change_date
        from dw.fct_lead_stage_change as c
        where
            c.change_date <= lead_check_on.as_of
            and c.from_stage is distinct from c.to_stage
            and c.lead_id in (select l.lead_id from leads as l)
        group by c.lead_id
    ),

    collected as (
        select distinct o.lead_id
        from dw.fct_order as o
        inner join dw.fct_invoice as i on o.order_id = i.order_id
        inner join dw.fct_collection as k on i.invoice_id = k.invoice_id
        where k.collection_date <= lead_check_on.as_of and o.lead_id in (select l.lead_id from leads as l)
    ),

    findings as (
        select f.lead_id, f.rule_ids, f.has_error
        from dq.lead_findings_on(lead_check_on.as_of) as f
    ),

    facts as (
        select
            l.lead_id,
            l.valid_from as last_update_date,
            lead_check_on.as_of - l.valid_from as days_since_update,
            v.last_visit_date,
            lead_check_on.as_of - coalesce(v.last_visit_date, l.created_on, l.valid_from) as days_since_visit,
            coalesce(c.last_stage_change_date, l.created_on, l.valid_from) as last_stage_change_date,
            lead_check_on.as_of
            - coalesce(c.last_stage_change_date, l.created_on, l.valid_from) as days_since_stage_change,
            coalesce(f.has_error, false) as has_error_finding,
            coalesce(f.rule_ids, '{}'::text[]) as finding_rule_ids,
            (coalesce(b.tender_date <= lead_check_on.as_of, false) or st.stage_rank >= 5) as tender_done,
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
                case when x.days_since_update >= lead_check_on.red_no_update_days then 'NO_UPDATE' end
            ], null) as red_common,
            array_remove(array[
                case when x.days_since_visit >= lead_check_on.yellow_no_visit_days then 'NO_VISIT' end,
                case
                    when x.days_since_stage_change >= lead_check_on.yellow_stage_unchanged_days
                        then 'STAGE_UNCHANGED'
                end
            ], null) as yellow_common
        from facts as x
    ),

    per_event as (
        select
            c.*,
            array_remove(array[
                case when not c.tender_done and c.expected_tender_date < lead_check_on.as_of then 'EVENT_OVERDUE' end
            ], null) || c.red_common as tender_red,
            array_remove(array[
                case when c.tender_moved then 'DATE_MOVED_LATER' end
            ], null) || c.yellow_common as tender_yellow,
            array_remove(array[
                case when not c.order_done and c.expected_order_date < lead_check_on.as_of then 'EVENT_OVERDUE' end
            ], null) || c.red_common as order_red,
            array_remove(array[
                case when c.order_moved then 'DATE_MOVED_LATER' end
            ], null) || c.yellow_common as order_yellow,
            array_remove(array[
                case
                    when not c.collection_done and c.expected_collection_date < lead_check_on.as_of
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

-- Working days of a span (inclusive), from the warehouse calendar.
create or replace function mart.working_days(from_date date, to_date date)
returns integer
language sql stable
as $$
    select count(*)::integer
    from dw.dim_date as d
    where d.date_key between working_days.from_date and working_days.to_date and d.is_working_day
$$;

-- R1 Region YTD attainment ------------------------------------------------------
create table if not exists mart.rpt_region_ytd_attainment (
    review_date date not null,
    business_unit text not null,
    level text not null,
    region_code text,
    team_id text,
    owner_id text,
    period_start date not null,
    period_end date not null,
    order_target_cny numeric(18, 2),
    order_actual_cny numeric(18, 2) not null,
    order_attainment_ratio numeric(12, 4),
    order_attainment_note text,
    order_actual_ly_cny numeric(18, 2) not null,
    order_yoy_growth_ratio numeric(12, 4),
    collection_target_cny numeric(18, 2),
    collection_actual_cny numeric(18, 2) not null,
    collection_attainment_ratio numeric(12, 4),
    collection_attainment_note text,
    collection_actual_ly_cny numeric(18, 2) not null,
    collection_yoy_growth_ratio numeric(12, 4),
    time_progress_ratio numeric(12, 4)
);

create unique index if not exists rpt_region_ytd_attainment_ux on mart.rpt_region_ytd_attainment (
    review_date, business_unit, level, region_code, team_id, owner_id
) nulls not distinct;

-- R3 Product monthly attainment (R2 sums it over product lines) ----------------
create table if not exists mart.rpt_product_month_attainment (
    review_date date not null,
    business_unit text not null,
    product_line_code text,
    level text not null,
    region_code text,
    team_id text,
    owner_id text,
    month_start date not null,
    order_target_cny numeric(18, 2),
    order_actual_mtd_cny numeric(18, 2) not null,
    order_attainment_ratio numeric(12, 4),
    order_attainment_note text,
    pending_order_cny numeric(18, 2) not null,
    weighted_s3_s4_cny numeric(18, 2) not null,
    order_forecast_cny numeric(18, 2) not null,
    order_forecast_attainment_ratio numeric(12, 4),
    order_forecast_prev_cny numeric(18, 2) not null,
    order_forecast_change_cny numeric(18, 2) not null,
    collection_target_cny numeric(18, 2),
    collection_actual_mtd_cny numeric(18, 2) not null,
    collection_attainment_ratio numeric(12, 4),
    collection_attainment_note text,
    invoice_due_balance_cny numeric(18, 2) not null,
    lead_expected_collection_cny numeric(18, 2) not null,
    collection_forecast_cny numeric(18, 2) not null,
    collection_forecast_attainment_ratio numeric(12, 4),
    bid_win_s4_leads integer not null,
    bid_win_s4_cny numeric(18, 2) not null,
    bid_win_s4_weighted_cny numeric(18, 2) not null,
    time_progress_ratio numeric(12, 4)
);

create unique index if not exists rpt_product_month_attainment_ux on mart.rpt_product_month_attainment (
    review_date, business_unit, product_line_code, level, region_code, team_id, owner_id
) nulls not distinct;

-- R2 Region monthly attainment -------------------------------------------------
create table if not exists mart.rpt_region_month_attainment (
    review_date date not null,
    business_unit text not null,
    level text not null,
    region_code text,
    team_id text,
    owner_id text,
    month_start date not null,
    order_target_cny numeric(18, 2),
    order_actual_mtd_cny numeric(18, 2) not null,
    order_attainment_ratio numeric(12, 4),
    order_attainment_note text,
    pending_order_cny numeric(18, 2) not null,
    weighted_s3_s4_cny numeric(18, 2) not null,
    order_forecast_cny numeric(18, 2) not null,
    order_forecast_attainment_ratio numeric(12, 4),
    order_forecast_prev_cny numeric(18, 2) not null,
    order_forecast_change_cny numeric(18, 2) not null,
    collection_target_cny numeric(18, 2),
    collection_actual_mtd_cny numeric(18, 2) not null,
    collection_attainment_ratio numeric(12, 4),
    collection_attainment_note text,
    time_progress_ratio numeric(12, 4)
);

create unique index if not exists rpt_region_month_attainment_ux on mart.rpt_region_month_attainment (
    review_date, business_unit, level, region_code, team_id, owner_id
) nulls not distinct;

-- R3c-g TOP lists: every qualifying lead (the scope's TOP N is taken at read time)
create table if not exists mart.rpt_top_lead (
    review_date date not null,
    business_unit text not null,
    list_code text not null,
    lead_id text not null,
    company_rank integer not null,
    product_line_code text,
    customer_id text,
    customer_name text,
    owner_id text,
    owner_name text,
    team_id text,
    region_code text,
    stage_code text,
    amount_cny numeric(18, 2),
    weighted_amount_cny numeric(18, 2),
    expected_tender_date date,
    expected_order_date date,
    expected_collection_date date,
    expected_collection_cny numeric(18, 2),
    check_flag text not null,
    check_reasons text[] not null,
    primary key (review_date, business_unit, list_code, lead_id)
);

-- R4 Team monthly attainment ---------------------------------------------------
create table if not exists mart.rpt_team_month_attainment (
    review_date date not null,
    business_unit text not null,
    level text not null,
    region_code text,
    team_id text,
    owner_id text,
    month_start date not null,
    order_target_cny numeric(18, 2),
    order_actual_mtd_cny numeric(18, 2) not null,
    order_attainment_ratio numeric(12, 4),
    order_attainment_note text,
    collection_target_cny numeric(18, 2),
    collection_actual_mtd_cny numeric(18, 2) not null,
    collection_attainment_ratio numeric(12, 4),
    collection_attainment_note text,
    open_leads integer not null,
    open_pipeline_cny numeric(18, 2) not null,
    weighted_pipeline_cny numeric(18, 2) not null,
    order_plan_cny numeric(18, 2),
    order_plan_accuracy_ratio numeric(12, 4),
    collection_plan_cny numeric(18, 2),
    collection_plan_accuracy_ratio numeric(12, 4),
    plan_note text,
    scored_open_leads integer,
    finding_weight numeric(18, 2),
    authenticity_score numeric(12, 4),
    reports_required integer,
    reports_on_time integer,
    filed_on_time_ratio numeric(12, 4),
    approvals_due integer,
    approvals_on_time integer,
    approved_on_time_ratio numeric(12, 4),
    time_progress_ratio numeric(12, 4)
);

create unique index if not exists rpt_team_month_attainment_ux on mart.rpt_team_month_attainment (
    review_date, business_unit, level, region_code, team_id, owner_id
) nulls not distinct;

-- R5 Two-month reservoir ---------------------------------------------------------
create table if not exists mart.rpt_reservoir (
    review_date date not null,
    business_unit text not null,
    product_line_code text,
    level text not null,
    region_code text,
    team_id text,
    owner_id text,
    target_month date not null,
    open_leads integer not null,
    s1_cny numeric(18, 2) not null,
    s2_cny numeric(18, 2) not null,
    s3_cny numeric(18, 2) not null,
    s4_cny numeric(18, 2) not null,
    s5_pending_order_cny numeric(18, 2) not null,
    pipeline_cny numeric(18, 2) not null,
    weighted_pipeline_cny numeric(18, 2) not null,
    order_target_cny numeric(18, 2),
    coverage_ratio numeric(12, 4),
    coverage_note text
);

create unique index if not exists rpt_reservoir_ux on mart.rpt_reservoir (
    review_date, business_unit, product_line_code, level, region_code, team_id, owner_id, target_month
) nulls not distinct;

-- R6 Lead ledger -----------------------------------------------------------------
create table if not exists mart.rpt_lead_ledger (
    review_date date not null,
    lead_id text not null,
    business_unit text,
    product_line_code text,
    customer_id text,
    customer_name text,
    owner_id text,
    owner_name text,
    team_id text,
    region_code text,
    stage_code text,
    status text,
    is_open boolean not null,
    amount_cny numeric(18, 2),
    weighted_amount_cny numeric(18, 2),
    expected_tender_date date,
    expected_order_date date,
    expected_collection_date date,
    expected_collection_cny numeric(18, 2),
    created_on date,
    last_visit_date date,
    days_since_update integer,
    finding_rule_ids text[] not null,
    has_error_finding boolean not null,
    is_gated boolean not null,
    check_flag text not null,
    check_reasons text[] not null,
    prev_stage_code text,
    prev_amount_cny numeric(18, 2),
    amount_change_cny numeric(18, 2),
    wow_change text not null,
    primary key (review_date, lead_id)
);

-- R7 Receivables: per invoice, and totals by level and aging bucket ------------
create table if not exists mart.rpt_receivable (
    review_date date not null,
    invoice_id text not null,
    business_unit text,
    product_line_code text,
    customer_id text,
    customer_name text,
    owner_id text,
    owner_name text,
    team_id text,
    region_code text,
    due_date date,
    invoiced_cny numeric(18, 2) not null,
    collected_cny numeric(18, 2) not null,
    balance_cny numeric(18, 2) not null,
    days_overdue integer,
    aging_bucket text not null,
    collected_in_month_cny numeric(18, 2) not null,
    primary key (review_date, invoice_id)
);

create table if not exists mart.rpt_receivable_aging (
    review_date date not null,
    business_unit text not null,
    level text not null,
    region_code text,
    team_id text,
    owner_id text,
    invoices integer not null,
    not_due_cny numeric(18, 2) not null,
    overdue_1_30_cny numeric(18, 2) not null,
    overdue_31_90_cny numeric(18, 2) not null,
    overdue_91_180_cny numeric(18, 2) not null,
    overdue_181_365_cny numeric(18, 2) not null,
    overdue_over_365_cny numeric(18, 2) not null,
    balance_cny numeric(18, 2) not null,
    overdue_cny numeric(18, 2) not null,
    collected_mtd_cny numeric(18, 2) not null,
    finance_note text
);

create unique index if not exists rpt_receivable_aging_ux on mart.rpt_receivable_aging (
    review_date, business_unit, level, region_code, team_id, owner_id
) nulls not distinct;

-- R8 Plan accuracy -----------------------------------------------------------------
create table if not exists mart.rpt_plan_accuracy (
    review_date date not null,
    business_unit text not null,
    measure text not null,
    product_line_code text not null,
    level text not null,
    region_code text,
    team_id text,
    owner_id text,
    accuracy_month date not null,
    plan_cny numeric(18, 2) not null,
    actual_cny numeric(18, 2) not null,
    accuracy_ratio numeric(12, 4),
    volatility_ratio numeric(12, 4),
    volatility_months integer not null,
    plan_ly_cny numeric(18, 2) not null,
    actual_ly_cny numeric(18, 2) not null,
    accuracy_ly_ratio numeric(12, 4),
    volatility_ly_ratio numeric(12, 4),
    accuracy_change_pts numeric(12, 2),
    volatility_change_pts numeric(12, 2),
    accuracy_note text
);

create unique index if not exists rpt_plan_accuracy_ux on mart.rpt_plan_accuracy (
    review_date, business_unit, measure, product_line_code, level, region_code, team_id, owner_id
) nulls not distinct;

-- R9 Authenticity scorecard ----------------------------------------------------------
create table if not exists mart.rpt_authenticity_scorecard (
    review_date date not null,
    business_unit text not null,
    level text not null,
    region_code text,
    team_id text,
    owner_id text,
    open_leads integer not null,
    error_findings integer not null,
    warn_findings integer not null,
    finding_weight numeric(18, 2) not null,
    authenticity_score numeric(12, 4),
    findings_by_rule jsonb not null,
    reports_required integer not null,
    reports_on_time integer not null,
    filed_on_time_ratio numeric(12, 4),
    approvals_due integer not null,
    approvals_on_time integer not null,
    approved_on_time_ratio numeric(12, 4)
);

create unique index if not exists rpt_authenticity_scorecard_ux on mart.rpt_authenticity_scorecard (
    review_date, business_unit, level, region_code, team_id, owner_id
) nulls not distinct;
