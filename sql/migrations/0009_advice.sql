-- Review advice (docs/advice.md): ranked action items computed from the
-- report marts of a review date.
--
-- One build per review date for the whole company: items are stored at the
-- finest subject level with the org keys (region, team, owner), so any scope
-- is filtered from the same stored set when reading. Memory: since_date is
-- the first date of the item's unbroken run of built review dates
-- (mart.advice_run); a build recomputes it for its date and every later one,
-- so dates rebuilt or built out of order stay consistent. "Resolved" (open
-- at the previous built date, gone now) is derived when reading.

create table if not exists mart.advice_run (
    review_date date primary key,
    items integer not null,
    -- rule id -> items of that rule
    rule_counts jsonb not null default '{}'::jsonb,
    -- the thresholds the items were computed with
    thresholds jsonb not null default '{}'::jsonb,
    built_at timestamptz not null default clock_timestamp()
);

create table if not exists mart.advice_item (
    review_date date not null,
    rule_id text not null,
    -- identity of the item across review dates, with rule_id
    subject_key text not null,
    business_unit text not null,
    severity text not null constraint advice_item_severity_ck check (severity in ('high', 'medium', 'low')),
    subject_kind text not null constraint advice_item_subject_kind_ck check (
        subject_kind in ('person', 'lead', 'team', 'region', 'product_line')
    ),
    subject_id text not null,
    subject_name text,
    -- 'owner': about one salesperson or their lead (visible where the owner is);
    -- 'unit': about an org unit (visible at the top-most unit inside a scope)
    grain text not null constraint advice_item_grain_ck check (grain in ('owner', 'unit')),
    level text not null constraint advice_item_level_ck check (level in ('REGION', 'TEAM', 'PERSON')),
    region_code text,
    team_id text,
    owner_id text,
    stake_cny numeric(18, 2) not null,
    evidence jsonb not null,
    -- the report it cites ('R1'..'R9') and the key of the cited row
    sheet text not null,
    row_key jsonb not null,
    -- first review date of the item's unbroken run of built dates up to review_date
    since_date date,
    primary key (review_date, rule_id, subject_key)
);

-- databases migrated to 0009 before since_date existed
alter table mart.advice_item add column if not exists since_date date;

create index if not exists advice_item_subject_ix on mart.advice_item (rule_id, subject_key, review_date);
