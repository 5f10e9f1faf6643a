-- Memory of the advice items of one review date: since_date = the since_date
-- of the same item (rule, subject key) at the previous built review date
-- :prev_date when it was there, else this date (a new run starts). The
-- build applies it to its date, then to each later built date in order while
-- the dates before keep changing (a date built or rebuilt out of order).
with computed as (
    select
        t.rule_id,
        t.subject_key,
        coalesce(p.since_date, p.review_date, t.review_date) as since_date
    from mart.advice_item as t
    left join mart.advice_item as p
        on
            p.review_date = :prev_date
            and t.rule_id = p.rule_id
            and t.subject_key = p.subject_key
    where t.review_date = :review_date
)

update mart.advice_item as t
set since_date = c.since_date
from computed as c
where
    t.review_date = :review_date
    and t.rule_id = c.rule_id
    and t.subject_key = c.subject_key
    and t.since_date is distinct from c.since_date
