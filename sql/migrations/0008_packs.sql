-- Review packs and their delivery ledger (docs/packs.md).
--
-- A pack is one workbook for one manager and one period (an ISO week for the
-- Monday pack, a month for the month-end pack). Building a pack inserts its
-- ops.pack row and its ops.outbox row in ONE transaction, so a pack that
-- exists is always queued and a queued message always has its workbook.
-- The same content rebuilt (same sha256) is the same pack: the unique key
-- makes a rebuild a no-op instead of a second email.

create table if not exists ops.pack (
    pack_id bigint generated always as identity primary key,
    kind text not null constraint pack_kind_ck check (kind in ('weekly', 'monthly')),
    -- '2026-W47' for weekly packs, '2026-11' for monthly packs
    period text not null,
    review_date date not null,
    manager_id text not null,
    manager_name text,
    recipient text,
    language text not null,
    -- what the workbook holds: the manager's org as of review_date
    scope_kind text not null,
    scope_key text,
    -- an ASCII file name safe everywhere; the Chinese name travels in the email
    file_name text not null,
    display_name text not null,
    path text not null,
    sha256 text not null,
    bytes bigint not null,
    -- sheet name -> row count (and whether it was cut at Excel's limits)
    sheets jsonb not null default '{}'::jsonb,
    -- headline figures, RED list, advice top items: what the email body shows
    summary jsonb not null default '{}'::jsonb,
    data_as_of timestamptz,
    built_at timestamptz not null default clock_timestamp(),
    superseded_at timestamptz,
    constraint pack_content_uk unique (kind, period, manager_id, sha256)
);

create index if not exists pack_period_ix on ops.pack (kind, period, manager_id, built_at desc);

-- Managers who got no pack for a period, and why (no scope, empty, no address).
create table if not exists ops.pack_skip (
    kind text not null,
    period text not null,
    manager_id text not null,
    reason text not null,
    recorded_at timestamptz not null default clock_timestamp(),
    primary key (kind, period, manager_id)
);

-- One message per (manager, period, pack content). status:
--   pending   waiting to be claimed (next_attempt_at says when)
--   sending   claimed by a sender (claimed_by, claimed_at)
--   sent      the server accepted it (message_id, sent_at)
--   failed    the server refused it or attempts ran out (last_error)
--   unknown   the connection broke after the message data was sent: it may
--             have arrived, so it is NOT retried automatically (at most one
--             copy); an operator resends it on purpose
--   skipped   nothing to send (empty pack with skip-if-empty, superseded)
create table if not exists ops.outbox (
    outbox_id bigint generated always as identity primary key,
    pack_id bigint not null references ops.pack (pack_id),
    kind text not null,
    period text not null,
    manager_id text not null,
    pack_sha256 text not null,
    recipient text,
    status text not null default 'pending'
    constraint outbox_status_ck check (
        status in ('pending', 'sending', 'sent', 'failed', 'unknown', 'skipped')
    ),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default clock_timestamp(),
    claimed_by text,
    claimed_at timestamptz,
    message_id text,
    sent_at timestamptz,
    last_error text,
    -- 0 for the first delivery; a deliberate resend adds a row with n + 1
    resend_no integer not null default 0,
    created_at timestamptz not null default clock_timestamp(),
    constraint outbox_message_uk unique (kind, period, manager_id, pack_sha256, resend_no)
);

create index if not exists outbox_due_ix on ops.outbox (next_attempt_at)
where status = 'pending';
