-- When the data behind a review date's reports was taken from the sources:
-- the end of the latest successful extraction window for a business date up
-- to the review date (the file loads have no window: their finish time).
-- Null when nothing was extracted (a warehouse filled by other means).
select max(coalesce(b.window_end, b.finished_at)) as data_as_of
from ops.extract_batch as b
where
    b.status = 'success'
    and b.business_date <= :review_date
