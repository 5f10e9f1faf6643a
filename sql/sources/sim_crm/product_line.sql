select
    p.product_line_code,
    p.product_line_name as name,
    p.bu_code as business_unit
from crm.product_line as p
