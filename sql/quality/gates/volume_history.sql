-- Rows extracted per source, entity and business day over the working days
-- before the day (successful batches only), for the volume-anomaly gate.
with recent_days as (
    select wd.day
    from dq.working_day as wd
    where wd.is_working_day and wd.day < :business_date
    order by wd.day desc
    limit :history_days
)

select
    b.source,
    b.entity,
    b.business_date,
    sum(b.rows_in) as rows_in
from ops.extract_batch as b
inner join recent_days as r on b.business_date = r.day
where b.status = 'success'
group by b.source, b.entity, b.business_date
