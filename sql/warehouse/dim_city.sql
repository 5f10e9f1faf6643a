-- Cities with their region (the geography dimension), inferred members for unknown codes.
insert into dw.dim_city (city_code, name, region_code, region_name, is_inferred)
with known as (
    select
        c.city_code,
        c.name,
        c.region_code,
        false as is_inferred
    from staging.city as c
),

inferred as (
    select distinct on (cu.city_code)
        cu.city_code,
        '(unknown ' || cu.city_code || ')' as name,
        cu.region_code,
        true as is_inferred
    from staging.customer as cu
    where
        cu.city_code is not null
        and not exists (select 1 from known as k where k.city_code = cu.city_code)
    order by cu.city_code asc, cu.valid_from desc
),

unioned as (
    select * from known
    union all
    select * from inferred
),

final as (
    select
        u.city_code,
        u.name,
        u.region_code,
        r.name as region_name,
        u.is_inferred
    from unioned as u
    left join dw.dim_region as r on u.region_code = r.region_code
)

select
    city_code,
    name,
    region_code,
    region_name,
    is_inferred
from final
on conflict (city_code) do update
    set
        name = excluded.name,
        region_code = excluded.region_code,
        region_name = excluded.region_name,
        is_inferred = excluded.is_inferred
    where (dim_city.name, dim_city.region_code, dim_city.region_name, dim_city.is_inferred)
    is distinct from (excluded.name, excluded.region_code, excluded.region_name, excluded.is_inferred);
