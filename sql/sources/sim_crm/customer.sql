-- One canonical row per customer version; non-named customers get tier 非指名.
select
    h.customer_id,
    h.customer_name as name,
    h.credit_code,
    h.industry_code,
    c.province_name as region_code,
    h.city_code,
    case when h.is_named then h.account_level else '非指名' end as account_tier,
    h.partner_id,
    h.changed_at as valid_from,
    h.changed_at as updated_at
from crm.customer_history as h
left join crm.dict_city as c on h.city_code = c.city_code
where h.changed_at >= :window_start
