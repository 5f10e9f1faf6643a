-- Claim up to :batch due outbox rows for one sender (docs/delivery.md).
-- "for update skip locked" lets two senders run at once: a row locked by one
-- is skipped by the other, and once claimed its status is no longer 'pending'.
-- The claim counts as an attempt; the pack columns come back with the row.
update ops.outbox as o
set
    status = 'sending',
    claimed_by = :worker,
    claimed_at = clock_timestamp(),
    attempts = o.attempts + 1
from ops.pack as p
where
    p.pack_id = o.pack_id
    and o.outbox_id in (
        select d.outbox_id
        from ops.outbox as d
        where
            d.status = 'pending'
            and d.next_attempt_at <= clock_timestamp()
            and (:any_period or d.period = any(cast(:periods as text[])))
            and (:any_manager or d.manager_id = :manager)
            -- rows this run already tried, once its wait budget is spent
            and d.outbox_id <> all(cast(:exclude as bigint[]))
        order by d.next_attempt_at, d.outbox_id
        limit :batch
        for update skip locked
    )
returning
    o.outbox_id,
    o.kind,
    o.period,
    o.manager_id,
    o.recipient,
    o.attempts,
    o.resend_no,
    o.message_id,
    o.pack_sha256,
    p.pack_id,
    p.review_date,
    p.manager_name,
    p.language,
    p.file_name,
    p.display_name,
    p.path,
    p.sha256,
    p.summary,
    p.superseded_at
