-- Data-quality results: findings per rule x entity x business day, the lead
-- quarantine (0003), validation runs, gate results, authenticity scores and
-- daily-report compliance. Working tables (dq.check_window, dq.lead_day) are
-- refilled by every check run under the step lock 'check'.

-- Working day calendar (mainland China, with make-up working days) --------------
create table if not exists dq.working_day (
    day date primary key,
    is_working_day boolean not null,
    next_working_day date not null
);

-- The window and thresholds of the running check (one row, written with bind
-- parameters, read by the rule SQL so the same text runs in Great Expectations).
create table if not exists dq.check_window (
    run_id bigint not null,
    start_date date not null,
    end_date date not null,
    tz text not null,
    outlier_p99_multiple numeric not null,
    stage_skip_steps integer not null,
    no_visit_days integer not null,
    duplicate_amount_tolerance numeric not null,
    ordered_match_days integer not null,
    ordered_amount_tolerance numeric not null,
    backfill_days integer not null,
    approval_working_days integer not null,
    future_tolerance interval not null
);

-- Every lead as it stood at the end of each business day of the window.
create unlogged table if not exists dq.lead_day (
    business_date date not null,
    lead_id text not null,
    owner_id text,
    customer_id text,
    product_line_code text,
    business_unit text,
    stage text,
    status text,
    stage_raw text,
    status_raw text,
    stage_given text,
    stage_status text,
    stage_rank integer,
    amount_cny numeric(18, 2),
    expected_order_date date,
    open_expected_order_date date,
    bid_facts_missing text,
    is_open boolean not null,
    created_at timestamptz,
    row_updated_at timestamptz,
    future_limit timestamptz not null,
    primary key (business_date, lead_id)
);

create index if not exists lead_day_lead_ix on dq.lead_day (lead_id, business_date);
create index if not exists lead_day_dup_ix on dq.lead_day (customer_id, product_line_code, business_date)
where is_open;

-- Findings --------------------------------------------------------------------
create table if not exists dq.finding (
    business_date date not null,
    rule_id text not null,
    entity_type text not null
    constraint finding_entity_ck check (entity_type in ('lead', 'customer', 'employee')),
    entity_id text not null,
    severity text not null
    constraint finding_severity_ck check (severity in ('error', 'warn')),
    owner_id text,
    details jsonb not null default '{}'::jsonb,
    run_id bigint not null,
    primary key (business_date, rule_id, entity_type, entity_id)
);

create index if not exists finding_entity_ix on dq.finding (entity_type, entity_id, business_date);
create index if not exists finding_owner_ix on dq.finding (owner_id, business_date);

-- The findings of every lead on day d (works for any stored day, not only the
-- working window): lead findings plus LQ08 of the lead's customer.
create or replace function dq.lead_findings_on(d date)
returns table (
    lead_id text, rule_ids text[], has_error boolean, findings jsonb
)
language sql stable
as $$
    with lead_rules as (
        select f.entity_id as lead_id, f.rule_id, f.severity, f.details
        from dq.finding as f
        where f.business_date = d and f.entity_type = 'lead'
    ),
    customer_rules as (
        select l.lead_id, f.rule_id, f.severity, f.details
        from dq.finding as f
        inner join staging.lead as l on l.customer_id = f.entity_id
        where f.business_date = d and f.entity_type = 'customer'
    ),
    both_kinds as (
        select * from lead_rules
        union all
        select * from customer_rules
    )
    select
        b.lead_id,
        array_agg(distinct b.rule_id order by b.rule_id),
        bool_or(b.severity = 'error'),
        jsonb_agg(jsonb_build_object('rule_id', b.rule_id, 'severity', b.severity, 'details', b.details))
    from both_kinds as b
    group by b.lead_id
$$;

-- Validation runs and gates -----------------------------------------------------
create table if not exists dq.validation_run (
    run_id bigint not null,
    start_date date not null,
    end_date date not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    success boolean,
    gx_success boolean,
    findings bigint,
    quarantined bigint,
    statistics jsonb not null default '{}'::jsonb,
    data_docs_path text,
    primary key (run_id, start_date)
);

create index if not exists validation_run_window_ix on dq.validation_run (start_date, end_date);

create table if not exists dq.gate_result (
    run_id bigint not null,
    business_date date not null,
    gate text not null,
    status text not null
    constraint gate_result_status_ck check (status in ('pass', 'fail', 'skip')),
    message text not null,
    details jsonb not null default '{}'::jsonb,
    checked_at timestamptz not null default clock_timestamp(),
    primary key (run_id, gate)
);

create index if not exists gate_result_date_ix on dq.gate_result (business_date, gate);

-- Scores ------------------------------------------------------------------------
create table if not exists dq.authenticity_score (
    business_date date not null,
    scope_type text not null
    constraint authenticity_scope_ck check (scope_type in ('PERSON', 'TEAM', 'REGION')),
    scope_id text not null,
    open_leads bigint not null,
    error_findings bigint not null,
    warn_findings bigint not null,
    weight numeric not null,
    score numeric,
    run_id bigint not null,
    primary key (business_date, scope_type, scope_id)
);

create table if not exists dq.report_compliance (
    business_date date not null,
    scope_type text not null
    constraint report_compliance_scope_ck check (scope_type in ('PERSON', 'TEAM', 'REGION')),
    scope_id text not null,
    reports_required bigint not null,
    reports_on_time bigint not null,
    approvals_due bigint not null,
    approvals_on_time bigint not null,
    filed_on_time_pct numeric,
    approved_on_time_pct numeric,
    run_id bigint not null,
    primary key (business_date, scope_type, scope_id)
);

-- 统一社会信用代码 check digit (GB 32100-2015): 18 characters of a 31-letter
-- alphabet; the last is 31 - (weighted sum mod 31), mapped back to the alphabet.
create or replace function dq.credit_code_valid(code text)
returns boolean
language sql immutable
as $$
    select case
        when code is null or code !~ '^[0-9A-HJ-NP-RTUWXY]{18}$' then false
        else (
            select substr('0123456789ABCDEFGHJKLMNPQRTUWXY',
                (31 - sum((strpos('0123456789ABCDEFGHJKLMNPQRTUWXY', substr(code, i, 1)) - 1)
                    * (array[1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])[i]) % 31)::integer
                % 31 + 1, 1)
            from generate_series(1, 17) as i
        ) = substr(code, 18, 1)
    end
$$;
