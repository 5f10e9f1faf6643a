-- Typed canonical staging tables (docs/canonical.md). Extraction upserts the
-- current state of every entity here, casts done in SQL; rows that fail a
-- cast go to quarantine.staging_row instead. Every row names the source and
-- the extraction batch that last wrote it.

-- Reference data ---------------------------------------------------------------
create table if not exists staging.business_unit (
    business_unit text primary key
    constraint business_unit_code_ck check (business_unit in ('INFO', 'SOFT')),
    name text not null,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create table if not exists staging.region (
    region_code text primary key,
    name text not null,
    business_unit text,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create table if not exists staging.city (
    city_code text primary key,
    name text not null,
    region_code text not null,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create table if not exists staging.industry (
    industry_code text primary key,
    name text not null,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create table if not exists staging.product_line (
    product_line_code text primary key,
    name text not null,
    business_unit text not null,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create table if not exists staging.channel_partner (
    partner_id text primary key,
    name text not null,
    region_code text,
    signed_from date,
    signed_to date,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

-- Organisation -----------------------------------------------------------------
create table if not exists staging.team (
    team_id text primary key,
    name text not null,
    unit_level text not null default 'TEAM'
    constraint team_unit_level_ck check (unit_level in ('COMPANY', 'BU', 'REGION', 'TEAM')),
    business_unit text,
    region_code text,
    parent_team_id text,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create table if not exists staging.employee (
    employee_id text primary key,
    name text not null,
    email text,
    hired_on date,
    left_on date,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create table if not exists staging.employee_assignment (
    employee_id text not null,
    valid_from date not null,
    valid_to date,
    role text not null
    constraint employee_assignment_role_ck check (
        role in ('SALESPERSON', 'TEAM_MANAGER', 'REGION_MANAGER', 'BU_MANAGER', 'EXECUTIVE')
    ),
    team_id text,
    manager_id text,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now(),
    primary key (employee_id, valid_from),
    constraint employee_assignment_range_ck check (valid_to is null or valid_to > valid_from)
);

-- Customers (one row per version) ---------------------------------------------
create table if not exists staging.customer (
    customer_id text not null,
    valid_from timestamptz not null,
    name text,
    credit_code text,
    industry_code text,
    region_code text,
    city_code text,
    account_tier text
    constraint customer_tier_ck check (account_tier in ('STRATEGIC', 'TOP', 'GENERAL', 'NON_NAMED')),
    partner_id text,
    updated_at timestamptz,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now(),
    primary key (customer_id, valid_from)
);

-- Leads ------------------------------------------------------------------------
create table if not exists staging.lead (
    lead_id text primary key,
    business_unit text,
    product_line_code text,
    customer_id text,
    owner_id text,
    created_at timestamptz,
    updated_at timestamptz,
    stage text
    constraint lead_stage_ck check (stage in ('S1', 'S2', 'S3', 'S4', 'S5', 'LOST', 'CANCELLED')),
    status text
    constraint lead_status_ck check (status in ('OPEN', 'PENDING_ORDER', 'ORDERED', 'LOST', 'CANCELLED')),
    -- the source's own names; stage/status stay null when the mapping does not know them (LQ03)
    stage_raw text,
    status_raw text,
    amount_cny numeric(18, 2),
    expected_tender_date date,
    expected_order_date date,
    expected_collection_date date,
    expected_collection_cny numeric(18, 2),
    tender_date date,
    bid_price_cny numeric(18, 2),
    competitors text,
    bid_result text,
    deleted_at timestamptz,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create index if not exists lead_updated_ix on staging.lead (updated_at);
create index if not exists lead_owner_ix on staging.lead (owner_id);
create index if not exists lead_customer_pl_ix on staging.lead (customer_id, product_line_code);

create table if not exists staging.lead_history (
    lead_id text not null,
    changed_at timestamptz not null,
    seq integer not null default 0,
    stage text,
    status text,
    stage_raw text,
    status_raw text,
    amount_cny numeric(18, 2),
    owner_id text,
    expected_tender_date date,
    expected_order_date date,
    expected_collection_date date,
    expected_collection_cny numeric(18, 2),
    -- the lead's other fields as they stood after the change (rules LQ01 / LQ09 as of a past day)
    customer_id text,
    product_line_code text,
    tender_date date,
    bid_price_cny numeric(18, 2),
    competitors text,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now(),
    primary key (lead_id, changed_at, seq)
);

-- Activity ---------------------------------------------------------------------
create table if not exists staging.visit (
    visit_id text primary key,
    employee_id text,
    customer_id text,
    lead_id text,
    visited_at timestamptz not null,
    method text,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create index if not exists visit_lead_ix on staging.visit (lead_id, visited_at);

create table if not exists staging.daily_report (
    employee_id text not null,
    report_date date not null,
    report_id text,
    submitted_at timestamptz,
    approved_by text,
    approved_at timestamptz,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now(),
    primary key (employee_id, report_date)
);

create table if not exists staging.weekly_plan (
    employee_id text not null,
    week_start date not null,
    submitted_at timestamptz,
    content text,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now(),
    primary key (employee_id, week_start)
);

-- Targets and plans ------------------------------------------------------------
create table if not exists staging.target (
    target_id bigint generated always as identity primary key,
    level text not null
    constraint target_level_ck check (level in ('COMPANY', 'REGION', 'TEAM', 'PERSON')),
    org_key text not null default '',
    year integer not null,
    month integer
    constraint target_month_ck check (month between 1 and 12),
    business_unit text not null,
    product_line_code text,
    account_tier text,
    measure text not null
    constraint target_measure_ck check (measure in ('ORDER', 'COLLECTION')),
    amount_cny numeric(18, 2) not null,
    -- the org key of the row this one rolls up into (the decomposition gate's parent), when known
    parent_org_key text,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create unique index if not exists target_grain_ux on staging.target (
    level, org_key, year, coalesce(month, 0), business_unit,
    coalesce(product_line_code, ''), coalesce(account_tier, ''), measure
);

create table if not exists staging.monthly_plan (
    employee_id text not null,
    plan_month date not null,
    product_line_code text not null,
    measure text not null
    constraint monthly_plan_measure_ck check (measure in ('ORDER', 'COLLECTION')),
    stated_at timestamptz not null,
    amount_cny numeric(18, 2) not null,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now(),
    primary key (employee_id, plan_month, product_line_code, measure, stated_at),
    constraint monthly_plan_first_of_month_ck check (extract(day from plan_month) = 1)
);

-- Finance ----------------------------------------------------------------------
create table if not exists staging.sales_order (
    order_id text primary key,
    order_date date not null,
    customer_id text,
    lead_id text,
    owner_id text,
    product_line_code text,
    amount_cny numeric(18, 2) not null,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create index if not exists sales_order_lead_ix on staging.sales_order (lead_id);

create table if not exists staging.invoice (
    invoice_id text primary key,
    order_id text,
    invoice_date date not null,
    due_date date,
    customer_id text,
    owner_id text,
    amount_cny numeric(18, 2) not null,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

create table if not exists staging.collection (
    collection_id text primary key,
    invoice_id text,
    collection_date date not null,
    customer_id text,
    owner_id text,
    amount_cny numeric(18, 2) not null,
    source text not null,
    batch_id bigint,
    loaded_at timestamptz not null default now()
);

-- Rows that failed a cast on their way from raw to staging ----------------------
create table if not exists quarantine.staging_row (
    quarantine_id bigint generated always as identity primary key,
    entity text not null,
    source text not null,
    batch_id bigint,
    entity_key text,
    raw_values jsonb not null,
    reasons text[] not null,
    quarantined_at timestamptz not null default now()
);

create index if not exists staging_row_batch_ix on quarantine.staging_row (batch_id);

-- Leads kept out of the facts on a business day because an `error` rule
-- fired for them that day (filled by the checks, read by the warehouse).
create table if not exists dq.lead_quarantine (
    lead_id text not null,
    business_date date not null,
    rule_ids text[] not null,
    primary key (lead_id, business_date)
);

-- One row per extraction batch (a source table or a file, for one window):
-- written by extraction, read by the gates (reconciliation, volume, freshness).
create table if not exists ops.extract_batch (
    batch_id bigint generated always as identity primary key,
    source text not null,
    entity text not null,
    source_object text not null,
    business_date date,
    window_start timestamptz,
    window_end timestamptz,
    -- rows_read: what the source returned (a look-back re-reads some rows);
    -- rows_in: the new rows among them; rows_in = rows_staged + rows_quarantined
    rows_read bigint not null default 0,
    rows_in bigint not null default 0,
    rows_raw bigint not null default 0,
    rows_deleted bigint not null default 0,
    rows_staged bigint not null default 0,
    rows_quarantined bigint not null default 0,
    amount_in_cny numeric(20, 2),
    amount_staged_cny numeric(20, 2),
    checksum text,
    max_source_updated_at timestamptz,
    status text not null default 'running'
    constraint extract_batch_status_ck check (status in ('running', 'success', 'failed')),
    started_at timestamptz not null default clock_timestamp(),
    finished_at timestamptz,
    error_text text
);

create index if not exists extract_batch_source_ix on ops.extract_batch (source, entity, business_date);
