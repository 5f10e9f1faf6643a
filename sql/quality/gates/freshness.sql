-- The newest source change seen for each entity by successful batches up to the day.
select
    b.source,
    b.entity,
    max(b.max_source_updated_at) as newest_change_at,
    max(b.window_end) as newest_window_end
from ops.extract_batch as b
where
    b.status = 'success'
    and b.business_date <= :business_date
    and b.entity = any(:entities)
group by b.source, b.entity
