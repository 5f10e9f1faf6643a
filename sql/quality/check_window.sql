-- The window and thresholds of this check run: the one row every rule reads.
delete from dq.check_window;

insert into dq.check_window (
    run_id, start_date, end_date, tz, outlier_p99_multiple, stage_skip_steps, no_visit_days,
    duplicate_amount_tolerance, ordered_match_days, ordered_amount_tolerance, backfill_days,
    approval_working_days, future_tolerance
)
values (
    :run_id, :start_date, :end_date, :tz, :outlier_p99_multiple, :stage_skip_steps, :no_visit_days,
    :duplicate_amount_tolerance, :ordered_match_days, :ordered_amount_tolerance, :backfill_days,
    :approval_working_days, make_interval(hours => :future_tolerance_hours)
);
