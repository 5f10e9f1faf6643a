-- A manager gets no pack for the period, and why. A pack built for them
-- earlier in the period stops being current and its pending message is
-- skipped: the latest build decides what a manager may receive.
insert into ops.pack_skip (kind, period, manager_id, reason)
values (:kind, :period, :manager_id, :reason)
on conflict (kind, period, manager_id) do update
    set reason = excluded.reason, recorded_at = clock_timestamp();

update ops.pack
set superseded_at = clock_timestamp()
where
    kind = :kind
    and period = :period
    and manager_id = :manager_id
    and superseded_at is null;

update ops.outbox
set status = 'skipped', last_error = 'no pack: ' || cast(:reason as text)
where
    kind = :kind
    and period = :period
    and manager_id = :manager_id
    and status = 'pending';
