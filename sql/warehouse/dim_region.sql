-- Regions (type 1), with an inferred member for every code referenced but unknown.
insert into dw.dim_region (region_code, name, business_unit, is_inferred)
with known as (
    select
        r.region_code,
        r.name,
        r.business_unit
    from staging.region as r
),

referenced as (
    select c.region_code from staging.city as c
    union
    select t.region_code from staging.team as t
    union
    select cu.region_code from staging.customer as cu
),

inferred as (
    select
        r.region_code,
        '(unknown ' || r.region_code || ')' as name,
        null::text as business_unit
    from referenced as r
    where
        r.region_code is not null
        and not exists (select 1 from known as k where k.region_code = r.region_code)
),

final as (
    select
        region_code,
        name,
        business_unit,
        false as is_inferred
    from known
    union all
    select
        region_code,
        name,
        business_unit,
        true as is_inferred
    from inferred
)

select
    region_code,
    name,
    business_unit,
    is_inferred
from final
on conflict (region_code) do update
    set name = excluded.name, business_unit = excluded.business_unit, is_inferred = excluded.is_inferred
    where (dim_region.name, dim_region.business_unit, dim_region.is_inferred)
    is distinct from (excluded.name, excluded.business_unit, excluded.is_inferred);
