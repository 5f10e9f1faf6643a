-- Extraction batches of the business day (ops.extract_batch), for the gates.
select
    b.batch_id,
    b.source,
    b.entity,
    b.source_object,
    b.status,
    b.rows_in,
    b.rows_staged,
    b.rows_quarantined,
    b.rows_deleted,
    b.amount_in_cny,
    b.amount_staged_cny,
    b.max_source_updated_at,
    b.error_text
from ops.extract_batch as b
where b.business_date = :business_date
order by b.source, b.entity, b.batch_id
