-- The leads whose staging rows changed since the step's watermark (all leads
-- on a full build); the lead facts below rebuild exactly these.
create temporary table tmp_changed_leads on commit drop as
with changed as (
    select h.lead_id from staging.lead_history as h
    where h.loaded_at >= :since
    union
    select l.lead_id from staging.lead as l
    where l.loaded_at >= :since
)

select distinct c.lead_id from changed as c;

analyze tmp_changed_leads;
