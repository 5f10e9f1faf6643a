select
    i.industry_code,
    i.industry_name as name
from crm.dict_industry as i
