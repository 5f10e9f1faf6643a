-- Industries (type 1), inferred members for codes customers use but the source lacks.
insert into dw.dim_industry (industry_code, name, is_inferred)
with known as (
    select
        i.industry_code,
        i.name,
        false as is_inferred
    from staging.industry as i
),

inferred as (
    select distinct
        cu.industry_code,
        '(unknown ' || cu.industry_code || ')' as name,
        true as is_inferred
    from staging.customer as cu
    where
        cu.industry_code is not null
        and not exists (select 1 from known as k where k.industry_code = cu.industry_code)
),

final as (
    select * from known
    union all
    select * from inferred
)

select
    industry_code,
    name,
    is_inferred
from final
on conflict (industry_code) do update
    set name = excluded.name, is_inferred = excluded.is_inferred
    where (dim_industry.name, dim_industry.is_inferred)
    is distinct from (excluded.name, excluded.is_inferred);
