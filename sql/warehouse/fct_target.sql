-- Targets at every level (PERSON rows are salesperson x month x business unit
-- x product line x account tier x measure), upserted on their grain.
delete from dw.fct_target as f
where
    cast(:full_build as boolean)
    and not exists (
        select 1 from staging.target as s
        where
            s.level = f.level
            and s.org_key = f.org_key
            and s.year = f.year
            and s.month is not distinct from f.month
            and s.business_unit = f.business_unit
            and s.product_line_code is not distinct from f.product_line_code
            and s.account_tier is not distinct from f.account_tier
            and s.measure = f.measure
    );

insert into dw.fct_target (
    level, org_key, year, month, month_start, business_unit, product_line_code, account_tier,
    measure, amount_cny
)
with targets as (
    select
        t.level,
        t.org_key,
        t.year,
        t.month,
        case when t.month is not null then make_date(t.year, t.month, 1) end as month_start,
        t.business_unit,
        t.product_line_code,
        t.account_tier,
        t.measure,
        t.amount_cny
    from staging.target as t
    where t.loaded_at >= :since
)

select
    level,
    org_key,
    year,
    month,
    month_start,
    business_unit,
    product_line_code,
    account_tier,
    measure,
    amount_cny
from targets
on conflict on constraint fct_target_grain_uq do update
    set amount_cny = excluded.amount_cny, month_start = excluded.month_start
    where fct_target.amount_cny is distinct from excluded.amount_cny;
