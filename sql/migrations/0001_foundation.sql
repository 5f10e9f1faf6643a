-- One schema per layer; data flows raw -> staging -> dw -> mart, one way.
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists quarantine;
create schema if not exists dq;
create schema if not exists dw;
create schema if not exists mart;
create schema if not exists ops;

comment on schema raw is 'Source rows as extracted: text columns, batch id, load time, row hash';
comment on schema staging is 'Typed canonical rows (DOMAIN.md model), casts done in SQL';
comment on schema quarantine is 'Rows and files that failed a cast or an error rule, with the reason';
comment on schema dq is 'Data-quality findings, validation runs, scores and gate results';
comment on schema dw is 'Star schema: history-correct dimensions and facts';
comment on schema mart is 'Review report tables R1-R9 per business unit and review date';
comment on schema ops is 'Operations: every run of every step, batches, file manifest, outbox';

-- Every run of every step, whatever its outcome.
create table if not exists ops.step_run (
    run_id bigint generated always as identity primary key,
    step text not null,
    business_date date,
    window_start timestamptz,
    window_end timestamptz,
    status text not null default 'running'
    constraint step_run_status_ck check (status in ('running', 'success', 'failed')),
    rows_in bigint,
    rows_out bigint,
    rows_quarantined bigint,
    details jsonb not null default '{}'::jsonb,
    error_text text,
    started_at timestamptz not null default clock_timestamp(),
    finished_at timestamptz,
    duration_ms bigint generated always as (
        (extract(epoch from (finished_at - started_at)) * 1000)::bigint
    ) stored,
    host text,
    pid integer,
    airflow_run_id text
);

create index if not exists step_run_step_date_ix on ops.step_run (step, business_date, started_at desc);
