-- Typed staging (issue 3): the date and timestamp casts decide a day 29-31 by the calendar,
-- not by catching an exception, and refuse what used to abort a whole batch.
--
-- * Speed. A value whose day is 29, 30 or 31 (about one date in ten) went through
--   staging.date_or_null / timestamptz_or_null: a PL/pgSQL block with an exception
--   handler, that is a subtransaction per call, about 10 us (the inlined cast takes
--   0.2 us). Medium world: lead_history has five date fields, 150k such calls.
--   The day is now checked against the length of its month (leap years included).
-- * Safety. The shape checks let through two values the cast then refused with an
--   error, which failed the batch instead of quarantining the row: the year 0000
--   ("date/time field value out of range") and a zone offset beyond +/-15:59
--   ("time zone displacement out of range"). Both are now not-a-date / not-a-timestamp.
--
-- Same results as before for every other input (tests/sources/test_sqlgen.py).

create or replace function staging.month_days(y int, m int) returns int
language sql immutable parallel safe as $$
    select case
        when m = 2 then case when (y % 4 = 0 and y % 100 <> 0) or y % 400 = 0 then 29 else 28 end
        when m in (4, 6, 9, 11) then 30
        else 31
    end
$$;

-- The calendar part of both casts: a value already shaped 'YYYY-MM-DD...' names a day
-- that exists (no year 0000, no 30 February).
create or replace function staging.iso_day_exists(v text) returns boolean
language sql immutable parallel safe as $$
    select left(v, 4) <> '0000'
        and (
            substring(v from 9 for 2)::int <= 28
            or substring(v from 9 for 2)::int
            <= staging.month_days(left(v, 4)::int, substring(v from 6 for 2)::int)
        )
$$;

create or replace function staging.try_date(v text) returns date
language sql stable parallel safe as $$
    select case
        when v ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$' and staging.iso_day_exists(v)
            then v::date
    end
$$;

create or replace function staging.try_timestamptz(v text) returns timestamptz
language sql stable parallel safe as $$
    select case
        when v ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?([+-](0\d|1[0-5])(:?[0-5]\d)?|Z)?$'
            and staging.iso_day_exists(v)
            then v::timestamptz
    end
$$;
