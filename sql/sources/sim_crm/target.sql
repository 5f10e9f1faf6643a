-- org_key: the region code (province) for 省区 rows, the team's unit id for
-- 团队 rows, the employee id for 个人 rows, empty for the company; parent_org_key
-- is the org key of the row it rolls up into.
select
    t.target_level as level,
    case t.target_level
        when '公司' then ''
        when '省区' then u.province_name
        else t.unit_id
    end as org_key,
    t.target_year as year,
    t.target_month as month,
    t.bu_code as business_unit,
    t.product_line_code,
    t.account_level as account_tier,
    t.measure_name as measure,
    t.target_amount as amount_cny,
    case
        when t.target_level = '公司' then null
        when t.target_level = '省区' then ''
        when t.target_level = '团队' then parent.province_name
        else t.parent_unit_id
    end as parent_org_key,
    t.updated_at
from crm.sales_target as t
left join crm.org_unit as u on t.unit_id = u.unit_id
left join crm.org_unit as parent on t.parent_unit_id = parent.unit_id
where t.updated_at >= :window_start
