select
    p.partner_id,
    p.partner_name as name,
    p.province_name as region_code,
    p.signed_from,
    p.signed_to,
    p.updated_at
from crm.channel_partner as p
where p.updated_at >= :window_start
