-- Regions are provinces, shared by both business units (docs/canonical.md).
select distinct on (c.province_name)
    c.province_name as region_code,
    c.province_name as name,
    null::text as business_unit
from crm.dict_city as c
order by c.province_name
