-- A01 Month forecast attainment behind time progress (R2).
-- A region, team or salesperson whose order forecast attainment for the month
-- runs behind the time progress by more than :attainment_gap. The gap in CNY
-- = target x time progress - forecast; the evidence names the open S4 and
-- S5 PENDING_ORDER leads of the unit (R6 ledger) that could close it, largest first.
insert into mart.advice_item (
    review_date, rule_id, subject_key, business_unit, severity, subject_kind, subject_id,
    subject_name, grain, level, region_code, team_id, owner_id, stake_cny, evidence, sheet, row_key
)
with units as materialized (
    select
        r.business_unit,
        r.level,
        r.region_code,
        r.team_id,
        r.owner_id,
        r.order_target_cny,
        r.order_actual_mtd_cny,
        r.pending_order_cny,
        r.weighted_s3_s4_cny,
        r.order_forecast_cny,
        r.order_forecast_attainment_ratio,
        r.time_progress_ratio,
        r.time_progress_ratio - r.order_forecast_attainment_ratio as behind_ratio,
        round(r.order_target_cny * r.time_progress_ratio - r.order_forecast_cny, 2) as gap_cny,
        coalesce(case r.level when 'REGION' then r.region_code when 'TEAM' then r.team_id else r.owner_id end, '')
            as unit_id,
        row_number() over () as unit_no
    from mart.rpt_region_month_attainment as r
    where
        r.review_date = :review_date
        and r.level in ('REGION', 'TEAM', 'PERSON')
        and r.order_forecast_attainment_ratio is not null
        and r.time_progress_ratio is not null
        and r.time_progress_ratio - r.order_forecast_attainment_ratio > :attainment_gap
),

-- each candidate lead once per level it counts in (its region, team and owner),
-- materialised, so units and leads meet in one hash join on all three keys
lead_units as materialized (
    select
        l.business_unit,
        x.level,
        coalesce(case x.level when 'REGION' then l.region_code when 'TEAM' then l.team_id else l.owner_id end, '')
            as unit_id,
        l.lead_id,
        l.customer_name,
        l.owner_id,
        l.owner_name,
        l.stage_code,
        l.amount_cny,
        l.expected_order_date
    from mart.rpt_lead_ledger as l
    cross join (values ('REGION'), ('TEAM'), ('PERSON')) as x (level)
    where
        l.review_date = :review_date
        and l.is_open
        and not l.is_gated
        and l.stage_code in ('S4', 'S5_PENDING_ORDER')
),

candidates as (
    select
        u.unit_no,
        l.lead_id,
        l.customer_name,
        l.owner_id,
        l.owner_name,
        l.stage_code,
        l.amount_cny,
        l.expected_order_date,
        row_number() over (partition by u.unit_no order by l.amount_cny desc nulls last, l.lead_id asc) as n
    from units as u
    inner join lead_units as l
        on
            u.business_unit = l.business_unit
            and u.level = l.level
            and u.unit_id = l.unit_id
),

lead_evidence as (
    select
        c.unit_no,
        count(*) as leads,
        sum(c.amount_cny) as leads_cny,
        jsonb_agg(
            jsonb_build_object(
                'lead_id', c.lead_id,
                'customer', c.customer_name,
                'owner_id', c.owner_id,
                'owner', c.owner_name,
                'stage', c.stage_code,
                'amount_cny', c.amount_cny,
                'expected_order_date', c.expected_order_date
            )
            order by c.n
        ) filter (where c.n <= :evidence_leads) as top_leads
    from candidates as c
    group by c.unit_no
),

named as (
    select
        u.*,
        case u.level when 'REGION' then 'region' when 'TEAM' then 'team' else 'person' end as subject_kind,
        coalesce(case u.level when 'REGION' then u.region_code when 'TEAM' then u.team_id else u.owner_id end, '-')
            as subject_id,
        case u.level
            when 'REGION' then reg.name
            when 'TEAM' then tm.name
            else (
                select e.name from dw.dim_employee as e
                where e.employee_id = u.owner_id
                order by (e.valid_from <= :review_date) desc, e.valid_from desc
                limit 1
            )
        end as subject_name,
        coalesce(le.leads, 0) as leads,
        coalesce(le.leads_cny, 0) as leads_cny,
        coalesce(le.top_leads, '[]'::jsonb) as top_leads
    from units as u
    left join dw.dim_region as reg on u.region_code = reg.region_code
    left join dw.dim_team as tm on u.team_id = tm.team_id
    left join lead_evidence as le on u.unit_no = le.unit_no
)

select
    cast(:review_date as date) as review_date,
    'A01' as rule_id,
    concat_ws(
        '|', n.business_unit, n.level, coalesce(n.region_code, ''), coalesce(n.team_id, ''),
        coalesce(n.owner_id, '')
    ) as subject_key,
    n.business_unit,
    case when n.behind_ratio > 2 * :attainment_gap then 'high' else 'medium' end as severity,
    n.subject_kind,
    n.subject_id,
    n.subject_name,
    'unit' as grain,
    n.level,
    n.region_code,
    n.team_id,
    n.owner_id,
    greatest(n.gap_cny, 0) as stake_cny,
    jsonb_build_object(
        'order_target_cny', n.order_target_cny,
        'order_actual_mtd_cny', n.order_actual_mtd_cny,
        'pending_order_cny', n.pending_order_cny,
        'weighted_s3_s4_cny', n.weighted_s3_s4_cny,
        'order_forecast_cny', n.order_forecast_cny,
        'forecast_attainment_ratio', n.order_forecast_attainment_ratio,
        'time_progress_ratio', n.time_progress_ratio,
        'behind_pts', round(n.behind_ratio * 100, 1),
        'gap_cny', n.gap_cny,
        'candidate_leads', n.leads,
        'candidate_leads_cny', n.leads_cny,
        'leads', n.top_leads
    ) as evidence,
    'R2' as sheet,
    jsonb_build_object(
        'business_unit', n.business_unit,
        'level', n.level,
        'region_code', n.region_code,
        'team_id', n.team_id,
        'owner_id', n.owner_id
    ) as row_key
from named as n
