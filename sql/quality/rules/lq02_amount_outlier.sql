-- LQ02 (warn part): amount above outlier_p99_multiple x the product line's p99
-- (p99 over the amounts > 0 of the current, undeleted leads of that line).
with win as (
    select cw.outlier_p99_multiple from dq.check_window as cw
),

line_p99 as (
    select
        l.product_line_code,
        percentile_cont(0.99) within group (order by l.amount_cny) as p99_cny
    from staging.lead as l
    where l.amount_cny > 0 and l.deleted_at is null
    group by l.product_line_code
)

select
    'LQ02' as rule_id,
    ld.business_date,
    'lead' as entity_type,
    ld.lead_id as entity_id,
    ld.owner_id,
    'warn' as severity,
    jsonb_build_object(
        'amount_cny', ld.amount_cny,
        'line_p99_cny', round(p.p99_cny::numeric, 2),
        'limit_cny', round(w.outlier_p99_multiple * p.p99_cny::numeric, 2)
    ) as details
from dq.lead_day as ld
inner join line_p99 as p on ld.product_line_code = p.product_line_code
cross join win as w
where ld.amount_cny > w.outlier_p99_multiple * p.p99_cny::numeric
