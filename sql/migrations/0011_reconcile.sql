-- Periodic key reconciliation (issue 3) and a lighter dq.lead_day (issue 9).
--
-- * ops.extract_batch.reconciled: the batch compared the source's keys with
--   staging (delete_detection full_compare), or it was the entity's first load
--   (a full read: staging then holds exactly the source's keys). The schedule
--   (every_days / on_weekdays of the mapping) reads the latest such batch.
-- * dq.lead_day loses its two secondary indexes: no rule or score statement
--   reads through them any more (docs/checks.md, "Performance"), and the daily
--   fill of every lead's row paid for both.

alter table ops.extract_batch add column if not exists reconciled boolean not null default false;

create index if not exists extract_batch_reconciled_ix on ops.extract_batch (
    source, entity, business_date
) where reconciled and status = 'success';

drop index if exists dq.lead_day_dup_ix;

drop index if exists dq.lead_day_lead_ix;
