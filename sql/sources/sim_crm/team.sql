-- Every org unit (事业部 / 省区 / 团队) is a canonical team row with its level.
select
    u.unit_id as team_id,
    u.unit_name as name,
    u.unit_type as unit_level,
    u.bu_code as business_unit,
    coalesce(u.province_name, parent.province_name) as region_code,
    u.parent_unit_id as parent_team_id,
    u.updated_at
from crm.org_unit as u
left join crm.org_unit as parent on u.parent_unit_id = parent.unit_id
where u.updated_at >= :window_start
