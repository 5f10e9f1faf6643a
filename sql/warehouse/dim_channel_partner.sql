-- Signed channel partners (type 1), inferred members for partners customers name.
insert into dw.dim_channel_partner (partner_id, name, region_code, signed_from, signed_to, is_inferred)
with known as (
    select
        p.partner_id,
        p.name,
        p.region_code,
        p.signed_from,
        p.signed_to,
        false as is_inferred
    from staging.channel_partner as p
),

inferred as (
    select distinct
        cu.partner_id,
        '(unknown ' || cu.partner_id || ')' as name,
        null::text as region_code,
        null::date as signed_from,
        null::date as signed_to,
        true as is_inferred
    from staging.customer as cu
    where
        cu.partner_id is not null
        and not exists (select 1 from known as k where k.partner_id = cu.partner_id)
),

final as (
    select * from known
    union all
    select * from inferred
)

select
    partner_id,
    name,
    region_code,
    signed_from,
    signed_to,
    is_inferred
from final
on conflict (partner_id) do update
    set
        name = excluded.name,
        region_code = excluded.region_code,
        signed_from = excluded.signed_from,
        signed_to = excluded.signed_to,
        is_inferred = excluded.is_inferred
    where (
        dim_channel_partner.name, dim_channel_partner.region_code, dim_channel_partner.signed_from,
        dim_channel_partner.signed_to, dim_channel_partner.is_inferred
    )
    is distinct from (
        excluded.name, excluded.region_code, excluded.signed_from, excluded.signed_to, excluded.is_inferred
    );
