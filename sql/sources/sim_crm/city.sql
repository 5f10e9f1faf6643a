select
    c.city_code,
    c.city_name as name,
    c.province_name as region_code
from crm.dict_city as c
