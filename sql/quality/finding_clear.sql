-- Rerunning a window replaces its findings (same transaction as the inserts).
delete from dq.finding
where business_date between :start_date and :end_date;
