-- Make :pack_id the current pack of its (kind, period, manager): every other
-- version is superseded and its still-pending message skipped, so the
-- automatic sender never sends a manager two versions. Messages already
-- sent stay sent. Then queue :pack_id's first message (a no-op when it
-- exists) and revive it when it was skipped and never sent.
update ops.pack
set superseded_at = clock_timestamp()
where
    kind = :kind
    and period = :period
    and manager_id = :manager_id
    and pack_id <> :pack_id
    and superseded_at is null;

update ops.outbox
set
    status = 'skipped',
    last_error = 'superseded by pack ' || cast(:pack_id as text)
where
    kind = :kind
    and period = :period
    and manager_id = :manager_id
    and pack_id <> :pack_id
    and status = 'pending';

update ops.pack
set superseded_at = null
where pack_id = :pack_id and superseded_at is not null;

insert into ops.outbox (pack_id, kind, period, manager_id, pack_sha256, recipient, status, resend_no)
select
    p.pack_id,
    p.kind,
    p.period,
    p.manager_id,
    p.sha256,
    p.recipient,
    'pending' as status,
    0 as resend_no
from ops.pack as p
where p.pack_id = :pack_id
on conflict on constraint outbox_message_uk do nothing;

update ops.outbox as o
set
    status = 'pending',
    attempts = 0,
    next_attempt_at = clock_timestamp(),
    last_error = null
where
    o.pack_id = :pack_id
    and o.resend_no = 0
    and o.status = 'skipped'
    and not exists (
        select 1 from ops.outbox as s
        where s.pack_id = :pack_id and s.status in ('sent', 'sending', 'unknown')
    );

delete from ops.pack_skip
where kind = :kind and period = :period and manager_id = :manager_id;
