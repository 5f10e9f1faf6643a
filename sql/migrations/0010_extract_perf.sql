-- Extraction speed (issue 3): the landing of source rows into raw.
--
-- * The row hash of a raw version is unique per source (op 'U'): the index the
--   de-duplication probes becomes a unique partial index, so a first load can
--   COPY straight into raw (a duplicate inside the window fails the COPY, and
--   the batch falls back to the staging-table path) and a re-read inserts
--   with `on conflict do nothing` instead of an anti-join.
-- * raw keeps the source's watermark value of every row (source_updated_at),
--   so the batch's watermark is read from raw when no staging table was used.
-- * raw ids are drawn 1,000 at a time per session (sequence cache): a COPY of
--   a million rows no longer locks and logs the sequence for every row. Ids
--   stay increasing within a session (one batch), with gaps between sessions.
-- * ops.extract_batch.details: per-phase seconds of the batch (landing,
--   delete detection, typed staging, bookkeeping), for the benchmark.

alter table ops.extract_batch add column if not exists details jsonb;

alter table raw.crm_business_unit add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_business_unit_hash_uq on raw.crm_business_unit (source, row_hash)
where op = 'U';

drop index if exists raw.crm_business_unit_hash_ix;

alter table raw.crm_business_unit alter column raw_id set cache 1000;

alter table raw.crm_region add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_region_hash_uq on raw.crm_region (source, row_hash)
where op = 'U';

drop index if exists raw.crm_region_hash_ix;

alter table raw.crm_region alter column raw_id set cache 1000;

alter table raw.crm_city add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_city_hash_uq on raw.crm_city (source, row_hash)
where op = 'U';

drop index if exists raw.crm_city_hash_ix;

alter table raw.crm_city alter column raw_id set cache 1000;

alter table raw.crm_industry add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_industry_hash_uq on raw.crm_industry (source, row_hash)
where op = 'U';

drop index if exists raw.crm_industry_hash_ix;

alter table raw.crm_industry alter column raw_id set cache 1000;

alter table raw.crm_product_line add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_product_line_hash_uq on raw.crm_product_line (source, row_hash)
where op = 'U';

drop index if exists raw.crm_product_line_hash_ix;

alter table raw.crm_product_line alter column raw_id set cache 1000;

alter table raw.crm_channel_partner add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_channel_partner_hash_uq on raw.crm_channel_partner (source, row_hash)
where op = 'U';

drop index if exists raw.crm_channel_partner_hash_ix;

alter table raw.crm_channel_partner alter column raw_id set cache 1000;

alter table raw.crm_team add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_team_hash_uq on raw.crm_team (source, row_hash)
where op = 'U';

drop index if exists raw.crm_team_hash_ix;

alter table raw.crm_team alter column raw_id set cache 1000;

alter table raw.crm_employee add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_employee_hash_uq on raw.crm_employee (source, row_hash)
where op = 'U';

drop index if exists raw.crm_employee_hash_ix;

alter table raw.crm_employee alter column raw_id set cache 1000;

alter table raw.crm_employee_assignment add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_employee_assignment_hash_uq on raw.crm_employee_assignment (source, row_hash)
where op = 'U';

drop index if exists raw.crm_employee_assignment_hash_ix;

alter table raw.crm_employee_assignment alter column raw_id set cache 1000;

alter table raw.crm_customer add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_customer_hash_uq on raw.crm_customer (source, row_hash)
where op = 'U';

drop index if exists raw.crm_customer_hash_ix;

alter table raw.crm_customer alter column raw_id set cache 1000;

alter table raw.crm_lead add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_lead_hash_uq on raw.crm_lead (source, row_hash)
where op = 'U';

drop index if exists raw.crm_lead_hash_ix;

alter table raw.crm_lead alter column raw_id set cache 1000;

alter table raw.crm_lead_history add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_lead_history_hash_uq on raw.crm_lead_history (source, row_hash)
where op = 'U';

drop index if exists raw.crm_lead_history_hash_ix;

alter table raw.crm_lead_history alter column raw_id set cache 1000;

alter table raw.crm_visit add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_visit_hash_uq on raw.crm_visit (source, row_hash)
where op = 'U';

drop index if exists raw.crm_visit_hash_ix;

alter table raw.crm_visit alter column raw_id set cache 1000;

alter table raw.crm_daily_report add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_daily_report_hash_uq on raw.crm_daily_report (source, row_hash)
where op = 'U';

drop index if exists raw.crm_daily_report_hash_ix;

alter table raw.crm_daily_report alter column raw_id set cache 1000;

alter table raw.crm_weekly_plan add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_weekly_plan_hash_uq on raw.crm_weekly_plan (source, row_hash)
where op = 'U';

drop index if exists raw.crm_weekly_plan_hash_ix;

alter table raw.crm_weekly_plan alter column raw_id set cache 1000;

alter table raw.crm_target add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_target_hash_uq on raw.crm_target (source, row_hash)
where op = 'U';

drop index if exists raw.crm_target_hash_ix;

alter table raw.crm_target alter column raw_id set cache 1000;

alter table raw.crm_monthly_plan add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_monthly_plan_hash_uq on raw.crm_monthly_plan (source, row_hash)
where op = 'U';

drop index if exists raw.crm_monthly_plan_hash_ix;

alter table raw.crm_monthly_plan alter column raw_id set cache 1000;

alter table raw.crm_sales_order add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_sales_order_hash_uq on raw.crm_sales_order (source, row_hash)
where op = 'U';

drop index if exists raw.crm_sales_order_hash_ix;

alter table raw.crm_sales_order alter column raw_id set cache 1000;

alter table raw.crm_invoice add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_invoice_hash_uq on raw.crm_invoice (source, row_hash)
where op = 'U';

drop index if exists raw.crm_invoice_hash_ix;

alter table raw.crm_invoice alter column raw_id set cache 1000;

alter table raw.crm_collection add column if not exists source_updated_at timestamptz;

create unique index if not exists crm_collection_hash_uq on raw.crm_collection (source, row_hash)
where op = 'U';

drop index if exists raw.crm_collection_hash_ix;

alter table raw.crm_collection alter column raw_id set cache 1000;
