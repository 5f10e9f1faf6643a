-- Star schema, see docs/warehouse.md. SCD2: [valid_from, valid_to), null = current.

-- The incremental steps read staging rows by load time.
create index if not exists lead_loaded_bx on staging.lead using brin (loaded_at);
create index if not exists lead_history_loaded_bx on staging.lead_history using brin (loaded_at);
create index if not exists sales_order_loaded_bx on staging.sales_order using brin (loaded_at);
create index if not exists invoice_loaded_bx on staging.invoice using brin (loaded_at);
create index if not exists collection_loaded_bx on staging.collection using brin (loaded_at);
create index if not exists visit_loaded_bx on staging.visit using brin (loaded_at);
create index if not exists daily_report_loaded_bx on staging.daily_report using brin (loaded_at);
create index if not exists monthly_plan_loaded_bx on staging.monthly_plan using brin (loaded_at);
create index if not exists target_loaded_bx on staging.target using brin (loaded_at);

-- Build bookkeeping
create table if not exists dw.build_watermark (
    step text primary key,
    loaded_through timestamptz not null
);

-- Calendar
create table if not exists dw.dim_date (
    date_key date primary key,
    year integer not null,
    year_label_zh text not null,
    quarter integer not null,
    quarter_label_zh text not null,
    month integer not null,
    month_start date not null,
    month_label_zh text not null,
    iso_year integer not null,
    iso_week integer not null,
    iso_week_label text not null,
    week_start date not null,
    day_of_month integer not null,
    iso_day_of_week integer not null,
    weekday_label_zh text not null,
    is_weekend boolean not null,
    is_working_day boolean not null,
    is_makeup_working_day boolean not null,
    holiday_name text,
    is_month_end boolean not null,
    calendar_known boolean not null
);

create index if not exists dim_date_month_ix on dw.dim_date (month_start);

-- Reference dimensions (type 1)
create table if not exists dw.dim_business_unit (
    business_unit text primary key,
    name text not null,
    name_zh text not null,
    is_inferred boolean not null default false
);

create table if not exists dw.dim_region (
    region_code text primary key,
    name text not null,
    business_unit text,
    is_inferred boolean not null default false
);

create table if not exists dw.dim_city (
    city_code text primary key,
    name text not null,
    region_code text,
    region_name text,
    is_inferred boolean not null default false
);

create table if not exists dw.dim_industry (
    industry_code text primary key,
    name text not null,
    is_inferred boolean not null default false
);

create table if not exists dw.dim_product_line (
    product_line_code text primary key,
    name text not null,
    business_unit text references dw.dim_business_unit (business_unit),
    is_inferred boolean not null default false
);

create table if not exists dw.dim_channel_partner (
    partner_id text primary key,
    name text not null,
    region_code text,
    signed_from date,
    signed_to date,
    is_inferred boolean not null default false
);

create table if not exists dw.dim_team (
    team_id text primary key,
    name text not null,
    business_unit text,
    region_code text,
    parent_team_id text,
    is_inferred boolean not null default false
);

-- Probabilities from settings.stage_probabilities.
create table if not exists dw.dim_stage (
    stage_code text primary key,
    stage text not null,
    status text not null,
    name_zh text not null,
    name_en text not null,
    stage_rank integer not null,
    win_probability numeric(5, 4) not null,
    is_open boolean not null
);

-- SCD type 2: customer
create table if not exists dw.dim_customer (
    customer_id text not null,
    valid_from date not null,
    valid_to date,
    name text,
    credit_code text,
    industry_code text,
    region_code text,
    city_code text,
    account_tier text,
    partner_id text,
    is_inferred boolean not null default false,
    primary key (customer_id, valid_from),
    constraint dim_customer_range_ck check (valid_to is null or valid_to > valid_from)
);

create unique index if not exists dim_customer_current_ux on dw.dim_customer (customer_id)
where valid_to is null;

-- SCD type 2: employee (role, team, direct manager)
create table if not exists dw.dim_employee (
    employee_id text not null,
    valid_from date not null,
    valid_to date,
    name text,
    email text,
    is_active boolean not null,
    role text,
    team_id text,
    manager_id text,
    region_code text,
    business_unit text,
    is_inferred boolean not null default false,
    primary key (employee_id, valid_from),
    constraint dim_employee_range_ck check (valid_to is null or valid_to > valid_from)
);

create unique index if not exists dim_employee_current_ux on dw.dim_employee (employee_id)
where valid_to is null;
create index if not exists dim_employee_manager_ix on dw.dim_employee (manager_id);
create index if not exists dim_employee_team_ix on dw.dim_employee (team_id, valid_from);

-- Who is under whom, when (depth 0 = the employee).
create table if not exists dw.dim_employee_org_closure (
    ancestor_id text not null,
    descendant_id text not null,
    depth integer not null,
    valid_from date not null,
    valid_to date not null,
    primary key (ancestor_id, descendant_id, depth, valid_from),
    constraint org_closure_range_ck check (valid_to > valid_from)
);

create index if not exists org_closure_scope_ix on dw.dim_employee_org_closure (
    ancestor_id, valid_from, valid_to
) include (descendant_id, depth);
create index if not exists org_closure_up_ix on dw.dim_employee_org_closure (
    descendant_id, valid_from, valid_to
) include (ancestor_id, depth);

-- Lead state as validity ranges: one row per lead version
create table if not exists dw.fct_lead_state (
    lead_id text not null,
    valid_from date not null,
    valid_to date not null default 'infinity',
    changed_at timestamptz,
    stage text,
    status text,
    stage_code text references dw.dim_stage (stage_code),
    is_open boolean not null,
    amount_cny numeric(18, 2),
    owner_id text,
    expected_tender_date date,
    expected_order_date date,
    expected_collection_date date,
    expected_collection_cny numeric(18, 2),
    business_unit text,
    product_line_code text references dw.dim_product_line (product_line_code),
    customer_id text,
    created_on date,
    primary key (lead_id, valid_from),
    constraint lead_state_range_ck check (valid_to > valid_from)
);

create index if not exists lead_state_open_gx on dw.fct_lead_state using gist (
    daterange(valid_from, valid_to)
) where is_open;
create index if not exists lead_state_owner_ix on dw.fct_lead_state (owner_id, valid_to, valid_from)
where is_open;

-- Leads the gate kept out of a day (from dq.lead_quarantine).
create table if not exists dw.fct_lead_gate (
    business_date date not null references dw.dim_date (date_key),
    lead_id text not null,
    rule_ids text[] not null,
    primary key (business_date, lead_id)
);

create table if not exists dw.fct_lead_stage_change (
    lead_id text not null,
    changed_at timestamptz not null,
    seq integer not null,
    change_date date not null references dw.dim_date (date_key),
    from_stage text,
    to_stage text,
    from_status text,
    to_status text,
    stage_steps integer,
    is_backward boolean not null,
    owner_id text,
    amount_cny numeric(18, 2),
    primary key (lead_id, changed_at, seq)
);

create index if not exists lead_stage_change_date_ix on dw.fct_lead_stage_change (change_date);

create table if not exists dw.fct_bid (
    lead_id text primary key,
    tender_date date references dw.dim_date (date_key),
    bid_price_cny numeric(18, 2),
    competitors text,
    bid_result text,
    owner_id text,
    customer_id text,
    business_unit text,
    product_line_code text references dw.dim_product_line (product_line_code)
);

-- Finance facts
create table if not exists dw.fct_order (
    order_id text primary key,
    order_date date not null references dw.dim_date (date_key),
    customer_id text,
    lead_id text,
    owner_id text,
    business_unit text,
    product_line_code text references dw.dim_product_line (product_line_code),
    amount_cny numeric(18, 2) not null
);

create index if not exists fct_order_date_ix on dw.fct_order (order_date);
create index if not exists fct_order_lead_ix on dw.fct_order (lead_id);

create table if not exists dw.fct_invoice (
    invoice_id text primary key,
    order_id text,
    invoice_date date not null references dw.dim_date (date_key),
    due_date date,
    customer_id text,
    owner_id text,
    business_unit text,
    product_line_code text references dw.dim_product_line (product_line_code),
    amount_cny numeric(18, 2) not null
);

create index if not exists fct_invoice_date_ix on dw.fct_invoice (invoice_date);

create table if not exists dw.fct_collection (
    collection_id text primary key,
    invoice_id text,
    collection_date date not null references dw.dim_date (date_key),
    customer_id text,
    owner_id text,
    business_unit text,
    product_line_code text references dw.dim_product_line (product_line_code),
    amount_cny numeric(18, 2) not null
);

create index if not exists fct_collection_invoice_ix on dw.fct_collection (
    invoice_id, collection_date
) include (amount_cny);
create index if not exists fct_collection_date_ix on dw.fct_collection (collection_date);

-- Receivables at each month end (the daily figure comes from dw.receivable_on).
create table if not exists dw.fct_receivable_month_end (
    month_end date not null references dw.dim_date (date_key),
    invoice_id text not null,
    customer_id text,
    owner_id text,
    business_unit text,
    product_line_code text,
    due_date date,
    invoiced_cny numeric(18, 2) not null,
    collected_cny numeric(18, 2) not null,
    balance_cny numeric(18, 2) not null,
    days_overdue integer,
    aging_bucket text not null,
    primary key (month_end, invoice_id)
);

-- Activity facts
create table if not exists dw.fct_visit (
    visit_id text primary key,
    visit_date date not null references dw.dim_date (date_key),
    visited_at timestamptz not null,
    employee_id text,
    customer_id text,
    lead_id text,
    method text
);

create index if not exists fct_visit_lead_ix on dw.fct_visit (lead_id, visit_date);
create index if not exists fct_visit_employee_ix on dw.fct_visit (employee_id, visit_date);

create table if not exists dw.fct_daily_report (
    employee_id text not null,
    report_date date not null references dw.dim_date (date_key),
    report_id text,
    submitted_at timestamptz,
    submitted_on date,
    approved_by text,
    approved_at timestamptz,
    approved_on date,
    is_submitted_on_time boolean not null,
    primary key (employee_id, report_date)
);

create index if not exists fct_daily_report_date_ix on dw.fct_daily_report (report_date);

-- Targets and plans
create table if not exists dw.fct_target (
    target_key bigint generated always as identity primary key,
    level text not null,
    org_key text not null,
    year integer not null,
    month integer,
    month_start date references dw.dim_date (date_key),
    business_unit text not null,
    product_line_code text,
    account_tier text,
    measure text not null,
    amount_cny numeric(18, 2) not null,
    salesperson_id text generated always as (case when level = 'PERSON' then org_key end) stored,
    constraint fct_target_grain_uq unique nulls not distinct (
        level, org_key, year, month, business_unit, product_line_code, account_tier, measure
    )
);

create index if not exists fct_target_person_ix on dw.fct_target (salesperson_id, month_start)
where level = 'PERSON';

-- Monthly targets spread over ISO weeks by working days.
create table if not exists dw.fct_target_week (
    target_key bigint not null references dw.fct_target (target_key) on delete cascade,
    week_start date not null references dw.dim_date (date_key),
    working_days integer not null,
    month_working_days integer not null,
    amount_cny numeric(18, 2) not null,
    primary key (target_key, week_start)
);

create table if not exists dw.fct_monthly_plan (
    employee_id text not null,
    plan_month date not null references dw.dim_date (date_key),
    product_line_code text not null references dw.dim_product_line (product_line_code),
    measure text not null,
    stated_at timestamptz not null,
    stated_on date not null,
    business_unit text,
    amount_cny numeric(18, 2) not null,
    primary key (employee_id, plan_month, product_line_code, measure, stated_at)
);

-- Reusable views and functions the reports call

-- Everyone under manager_id on as_of (including the manager, depth 0).
create or replace function dw.org_scope(manager_id text, as_of date)
returns table (employee_id text, depth integer)
language sql stable
as $$
    select c.descendant_id, c.depth
    from dw.dim_employee_org_closure as c
    where c.ancestor_id = org_scope.manager_id
      and c.valid_from <= org_scope.as_of
      and c.valid_to > org_scope.as_of
$$;

-- The employee version valid on as_of (role, team, manager, region, business unit).
create or replace function dw.employee_on(as_of date)
returns setof dw.dim_employee
language sql stable
as $$
    select e.*
    from dw.dim_employee as e
    where e.valid_from <= employee_on.as_of
      and (e.valid_to is null or e.valid_to > employee_on.as_of)
$$;

-- The customer version valid on as_of.
create or replace function dw.customer_on(as_of date)
returns setof dw.dim_customer
language sql stable
as $$
    select c.*
    from dw.dim_customer as c
    where c.valid_from <= customer_on.as_of
      and (c.valid_to is null or c.valid_to > customer_on.as_of)
$$;

-- Every lead's state (open or closed) on as_of, for ledgers and week-over-week changes.
create or replace function dw.lead_any_state_on(as_of date)
returns setof dw.fct_lead_state
language sql stable
as $$
    select s.*
    from dw.fct_lead_state as s
    where s.valid_from <= lead_any_state_on.as_of
      and s.valid_to > lead_any_state_on.as_of
$$;

-- The daily snapshot as a relation (filter on snapshot_date): open leads as the
-- data stood that day, without the leads the gate kept out that day, with
-- the weighted amount and the owner's org on that day.
create or replace view dw.fct_lead_snapshot as
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
where not exists (
    select 1 from dw.fct_lead_gate as g
    where g.business_date = d.date_key and g.lead_id = s.lead_id
);

-- The snapshot of one day: "open leads on D", fast through the GiST index.
create or replace function dw.lead_state_on(as_of date)
returns setof dw.fct_lead_snapshot
language sql stable
as $$
    select s.* from dw.fct_lead_snapshot as s where s.snapshot_date = lead_state_on.as_of
$$;

-- Invoice balances on as_of: amount minus collections applied up to as_of.
create or replace function dw.receivable_on(as_of date)
returns table (
    as_of_date date,
    invoice_id text,
    customer_id text,
    owner_id text,
    business_unit text,
    product_line_code text,
    due_date date,
    invoiced_cny numeric(18, 2),
    collected_cny numeric(18, 2),
    balance_cny numeric(18, 2),
    days_overdue integer,
    aging_bucket text
)
language sql stable
as $$
    with paid as (
        select c.invoice_id, sum(c.amount_cny) as collected_cny
        from dw.fct_collection as c
        where c.collection_date <= receivable_on.as_of
        group by c.invoice_id
    ),
    balances as (
        select
            i.invoice_id,
            i.customer_id,
            i.owner_id,
            i.business_unit,
            i.product_line_code,
            i.due_date,
            i.amount_cny as invoiced_cny,
            coalesce(p.collected_cny, 0) as collected_cny,
            i.amount_cny - coalesce(p.collected_cny, 0) as balance_cny,
            receivable_on.as_of - i.due_date as days_overdue
        from dw.fct_invoice as i
        left join paid as p on i.invoice_id = p.invoice_id
        where i.invoice_date <= receivable_on.as_of
    )
    select
        receivable_on.as_of,
        b.invoice_id,
        b.customer_id,
        b.owner_id,
        b.business_unit,
        b.product_line_code,
        b.due_date,
        b.invoiced_cny,
        b.collected_cny,
        b.balance_cny,
        b.days_overdue,
        case
            when b.days_overdue is null or b.days_overdue <= 0 then 'NOT_DUE'
            when b.days_overdue <= 30 then '1-30'
            when b.days_overdue <= 90 then '31-90'
            when b.days_overdue <= 180 then '91-180'
            when b.days_overdue <= 365 then '181-365'
            else '>365'
        end
    from balances as b
    where b.balance_cny <> 0
$$;

-- The first statement of each month's plan is "the plan" (DOMAIN.md).
create or replace view dw.fct_monthly_plan_first as
select distinct on (p.employee_id, p.plan_month, p.product_line_code, p.measure)
    p.employee_id,
    p.plan_month,
    p.product_line_code,
    p.measure,
    p.business_unit,
    p.stated_at,
    p.amount_cny
from dw.fct_monthly_plan as p
order by p.employee_id asc, p.plan_month asc, p.product_line_code asc, p.measure asc, p.stated_at asc;

-- Actuals attributed to the owner's org on the event date.
create or replace view dw.fct_order_attributed as
select
    o.order_id,
    o.order_date,
    o.customer_id,
    o.lead_id,
    o.owner_id,
    o.business_unit,
    o.product_line_code,
    o.amount_cny,
    e.team_id as owner_team_id,
    e.region_code as owner_region_code,
    e.manager_id as owner_manager_id
from dw.fct_order as o
left join dw.dim_employee as e
    on
        o.owner_id = e.employee_id
        and o.order_date >= e.valid_from
        and (e.valid_to is null or o.order_date < e.valid_to);

create or replace view dw.fct_collection_attributed as
select
    c.collection_id,
    c.invoice_id,
    c.collection_date,
    c.customer_id,
    c.owner_id,
    c.business_unit,
    c.product_line_code,
    c.amount_cny,
    e.team_id as owner_team_id,
    e.region_code as owner_region_code,
    e.manager_id as owner_manager_id
from dw.fct_collection as c
left join dw.dim_employee as e
    on
        c.owner_id = e.employee_id
        and c.collection_date >= e.valid_from
        and (e.valid_to is null or c.collection_date < e.valid_to);
