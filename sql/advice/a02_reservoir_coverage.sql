-- A02 Reservoir coverage for M+1 or M+2 below :coverage_floor (R5).
-- Per product line, target month and region, team or salesperson: the
-- weighted pipeline missing = target x floor - weighted pipeline.
insert into mart.advice_item (
    review_date, rule_id, subject_key, business_unit, severity, subject_kind, subject_id,
    subject_name, grain, level, region_code, team_id, owner_id, stake_cny, evidence, sheet, row_key
)
with short as (
    select
        r.*,
        round(r.order_target_cny * :coverage_floor - r.weighted_pipeline_cny, 2) as missing_cny
    from mart.rpt_reservoir as r
    where
        r.review_date = :review_date
        and r.level in ('REGION', 'TEAM', 'PERSON')
        and r.coverage_ratio is not null
        and r.coverage_ratio < :coverage_floor
),

named as (
    select
        s.*,
        pl.name as product_line_name,
        case s.level when 'REGION' then 'region' when 'TEAM' then 'team' else 'person' end as unit_kind,
        case s.level when 'REGION' then s.region_code when 'TEAM' then s.team_id else s.owner_id end as unit_id,
        case s.level
            when 'REGION' then reg.name
            when 'TEAM' then tm.name
            else (
                select e.name from dw.dim_employee as e
                where e.employee_id = s.owner_id
                order by (e.valid_from <= :review_date) desc, e.valid_from desc
                limit 1
            )
        end as unit_name
    from short as s
    left join dw.dim_product_line as pl on s.product_line_code = pl.product_line_code
    left join dw.dim_region as reg on s.region_code = reg.region_code
    left join dw.dim_team as tm on s.team_id = tm.team_id
)

select
    cast(:review_date as date) as review_date,
    'A02' as rule_id,
    concat_ws(
        '|', n.business_unit, n.level, coalesce(n.region_code, ''), coalesce(n.team_id, ''),
        coalesce(n.owner_id, ''), n.product_line_code, to_char(n.target_month, 'YYYY-MM')
    ) as subject_key,
    n.business_unit,
    case when n.coverage_ratio < :coverage_floor / 2 then 'high' else 'medium' end as severity,
    'product_line' as subject_kind,
    n.product_line_code as subject_id,
    coalesce(n.product_line_name, n.product_line_code) as subject_name,
    'unit' as grain,
    n.level,
    n.region_code,
    n.team_id,
    n.owner_id,
    greatest(n.missing_cny, 0) as stake_cny,
    jsonb_build_object(
        'target_month', to_char(n.target_month, 'YYYY-MM'),
        'unit_level', n.level,
        'unit_kind', n.unit_kind,
        'unit_id', n.unit_id,
        'unit_name', n.unit_name,
        'open_leads', n.open_leads,
        's1_cny', n.s1_cny,
        's2_cny', n.s2_cny,
        's3_cny', n.s3_cny,
        's4_cny', n.s4_cny,
        's5_pending_order_cny', n.s5_pending_order_cny,
        'pipeline_cny', n.pipeline_cny,
        'weighted_pipeline_cny', n.weighted_pipeline_cny,
        'order_target_cny', n.order_target_cny,
        'coverage_ratio', n.coverage_ratio,
        'coverage_floor', cast(:coverage_floor as numeric),
        'missing_cny', n.missing_cny
    ) as evidence,
    'R5' as sheet,
    jsonb_build_object(
        'business_unit', n.business_unit,
        'product_line_code', n.product_line_code,
        'level', n.level,
        'region_code', n.region_code,
        'team_id', n.team_id,
        'owner_id', n.owner_id,
        'target_month', n.target_month
    ) as row_key
from named as n
