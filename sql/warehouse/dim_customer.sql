-- Customer, SCD type 2, derived in full from staging.customer's versions:
-- the last version of a business day wins (two changes in one day give one
-- row), consecutive identical versions merge, the first version reaches back
-- to 1900-01-01 so every fact finds a version. Customers that facts name but
-- the source has not delivered get an inferred member, which the real first
-- version overwrites in place (same key) once it arrives.
create temporary table tmp_dim_customer on commit drop as
with day_versions as (
    select distinct on (c.customer_id, (c.valid_from at time zone :tz)::date)
        c.customer_id,
        (c.valid_from at time zone :tz)::date as from_day,
        c.name,
        c.credit_code,
        c.industry_code,
        c.region_code,
        c.city_code,
        c.account_tier,
        c.partner_id
    from staging.customer as c
    order by
        c.customer_id asc,
        (c.valid_from at time zone :tz)::date asc,
        c.valid_from desc,
        c.updated_at desc nulls last
),

hashed as (
    select
        d.*,
        md5(jsonb_build_array(
            d.name, d.credit_code, d.industry_code, d.region_code, d.city_code, d.account_tier, d.partner_id
        )::text) as attr_hash
    from day_versions as d
),

changes as (
    select
        h.*,
        lag(h.attr_hash) over (partition by h.customer_id order by h.from_day) as prev_hash
    from hashed as h
),

versions as (
    select
        c.*,
        row_number() over (partition by c.customer_id order by c.from_day) as version_no,
        lead(c.from_day) over (partition by c.customer_id order by c.from_day) as next_day
    from changes as c
    where c.prev_hash is null or c.prev_hash <> c.attr_hash
),

-- ids named by rows loaded since the watermark, plus those already inferred
referenced as (
    select l.customer_id from staging.lead as l
    where l.loaded_at >= :since
    union
    select o.customer_id from staging.sales_order as o
    where o.loaded_at >= :since
    union
    select i.customer_id from staging.invoice as i
    where i.loaded_at >= :since
    union
    select co.customer_id from staging.collection as co
    where co.loaded_at >= :since
    union
    select v.customer_id from staging.visit as v
    where v.loaded_at >= :since
    union
    select d.customer_id from dw.dim_customer as d
    where d.is_inferred
),

inferred as (
    select
        r.customer_id,
        date '1900-01-01' as valid_from,
        null::date as valid_to,
        null::text as name,
        null::text as credit_code,
        null::text as industry_code,
        null::text as region_code,
        null::text as city_code,
        null::text as account_tier,
        null::text as partner_id,
        true as is_inferred
    from referenced as r
    where
        r.customer_id is not null
        and not exists (select 1 from staging.customer as c where c.customer_id = r.customer_id)
),

real as (
    select
        v.customer_id,
        case when v.version_no = 1 then date '1900-01-01' else v.from_day end as valid_from,
        v.next_day as valid_to,
        v.name,
        v.credit_code,
        v.industry_code,
        v.region_code,
        v.city_code,
        v.account_tier,
        v.partner_id,
        false as is_inferred
    from versions as v
)

select * from real
union all
select * from inferred;

analyze tmp_dim_customer;

delete from dw.dim_customer as d
where not exists (
    select 1 from tmp_dim_customer as t
    where t.customer_id = d.customer_id and t.valid_from = d.valid_from
);

-- Close or correct existing versions before inserting new current ones, so the
-- one-current-row index never sees two current rows.
update dw.dim_customer as d
set
    valid_to = t.valid_to,
    name = t.name,
    credit_code = t.credit_code,
    industry_code = t.industry_code,
    region_code = t.region_code,
    city_code = t.city_code,
    account_tier = t.account_tier,
    partner_id = t.partner_id,
    is_inferred = t.is_inferred
from tmp_dim_customer as t
where
    t.customer_id = d.customer_id
    and t.valid_from = d.valid_from
    and (
        d.valid_to, d.name, d.credit_code, d.industry_code, d.region_code, d.city_code,
        d.account_tier, d.partner_id, d.is_inferred
    )
    is distinct from (
        t.valid_to, t.name, t.credit_code, t.industry_code, t.region_code, t.city_code,
        t.account_tier, t.partner_id, t.is_inferred
    );

insert into dw.dim_customer (
    customer_id, valid_from, valid_to, name, credit_code, industry_code, region_code, city_code,
    account_tier, partner_id, is_inferred
)
select
    t.customer_id,
    t.valid_from,
    t.valid_to,
    t.name,
    t.credit_code,
    t.industry_code,
    t.region_code,
    t.city_code,
    t.account_tier,
    t.partner_id,
    t.is_inferred
from tmp_dim_customer as t
on conflict (customer_id, valid_from) do nothing;
