-- One gate's verdict for the day.
insert into dq.gate_result (run_id, business_date, gate, status, message, details)
values (:run_id, :business_date, :gate, :status, :message, cast(:details as jsonb))
on conflict (run_id, gate) do update
    set
        status = excluded.status,
        message = excluded.message,
        details = excluded.details,
        checked_at = clock_timestamp();
