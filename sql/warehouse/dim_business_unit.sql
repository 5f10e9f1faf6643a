-- Business units: the two from DOMAIN.md plus any a source names.
insert into dw.dim_business_unit (business_unit, name, name_zh, is_inferred)
with known as (
    select
        b.business_unit,
        b.name,
        case b.business_unit when 'INFO' then '浪潮信息' when 'SOFT' then '浪潮软件' else b.name end as name_zh
    from staging.business_unit as b
),

defaults as (
    select
        v.business_unit,
        v.name,
        v.name_zh
    from (values ('INFO', 'Hardware', '浪潮信息'), ('SOFT', 'Software', '浪潮软件')) as v (business_unit, name, name_zh)
    where not exists (select 1 from known as k where k.business_unit = v.business_unit)
),

final as (
    select
        business_unit,
        name,
        name_zh,
        false as is_inferred
    from known
    union all
    select
        business_unit,
        name,
        name_zh,
        false as is_inferred
    from defaults
)

select
    business_unit,
    name,
    name_zh,
    is_inferred
from final
on conflict (business_unit) do update
    set name = excluded.name, name_zh = excluded.name_zh, is_inferred = excluded.is_inferred
    where (dim_business_unit.name, dim_business_unit.name_zh, dim_business_unit.is_inferred)
    is distinct from (excluded.name, excluded.name_zh, excluded.is_inferred);
