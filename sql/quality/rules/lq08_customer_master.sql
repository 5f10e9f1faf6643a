-- LQ08: a named customer (every tier but NON_NAMED, or no tier) whose version
-- valid at the end of the day lacks tier, industry or city, or whose credit
-- code fails the GB 32100-2015 check digit. Reported per customer and day.
with win as (
    select
        cw.start_date,
        cw.end_date,
        cw.tz
    from dq.check_window as cw
),

versions as (
    select
        c.customer_id,
        c.valid_from,
        c.account_tier,
        c.industry_code,
        c.city_code,
        c.credit_code,
        lead(c.valid_from) over (partition by c.customer_id order by c.valid_from) as valid_to
    from staging.customer as c
),

days as (
    select
        g.business_date::date as business_date,
        ((g.business_date::date + 1)::timestamp at time zone w.tz) as day_end
    from win as w
    cross join lateral generate_series(w.start_date::timestamp, w.end_date::timestamp, interval '1 day') as g (business_date)
),

states as (
    select
        d.business_date,
        v.*,
        array_remove(array[
            case when v.account_tier is null then 'account_tier' end,
            case when v.industry_code is null then 'industry_code' end,
            case when v.city_code is null then 'city_code' end,
            case when not dq.credit_code_valid(v.credit_code) then 'credit_code' end
        ], null) as problems
    from days as d
    inner join versions as v
        on
            d.day_end > v.valid_from
            and (v.valid_to is null or d.day_end <= v.valid_to)
    where v.account_tier is distinct from 'NON_NAMED'
)

select
    'LQ08' as rule_id,
    s.business_date,
    'customer' as entity_type,
    s.customer_id as entity_id,
    null::text as owner_id,
    'warn' as severity,
    jsonb_build_object('problems', to_jsonb(s.problems), 'credit_code', s.credit_code) as details
from states as s
where cardinality(s.problems) > 0
