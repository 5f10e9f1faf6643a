-- R5 Two-month reservoir: leads open on the review date (gate applied) whose
-- expected order date falls in the next two months, by stage, against the
-- order target of that month: coverage = weighted pipeline / target (null
-- without a target).
delete from mart.rpt_reservoir where review_date = :review_date;

insert into mart.rpt_reservoir (
    review_date, business_unit, product_line_code, level, region_code, team_id, owner_id,
    target_month, open_leads, s1_cny, s2_cny, s3_cny, s4_cny, s5_pending_order_cny, pipeline_cny,
    weighted_pipeline_cny, order_target_cny, coverage_ratio, coverage_note
)
with pipeline as (
    select
        s.business_unit,
        s.product_line_code,
        s.owner_region_code as region_code,
        s.owner_team_id as team_id,
        s.owner_id,
        cast(date_trunc('month', s.expected_order_date) as date) as target_month,
        s.stage_code,
        s.amount_cny,
        s.weighted_amount_cny
    from dw.lead_state_on(cast(:review_date as date)) as s
    where s.expected_order_date >= :next_month_start and s.expected_order_date < :third_month_start
),

targets as (
    select
        t.business_unit,
        t.product_line_code,
        t.region_code,
        t.team_id,
        t.owner_id,
        t.month_start as target_month,
        t.amount_cny
    from mart.target_attributed(cast(:next_month_start as date), cast(:second_month_start as date)) as t
    where t.measure = 'ORDER'
),

measures as (
    select
        p.business_unit,
        p.product_line_code,
        p.region_code,
        p.team_id,
        p.owner_id,
        p.target_month,
        1 as lead_count,
        case when p.stage_code = 'S1' then p.amount_cny end as s1,
        case when p.stage_code = 'S2' then p.amount_cny end as s2,
        case when p.stage_code = 'S3' then p.amount_cny end as s3,
        case when p.stage_code = 'S4' then p.amount_cny end as s4,
        case when p.stage_code = 'S5_PENDING_ORDER' then p.amount_cny end as s5,
        p.amount_cny as pipeline,
        p.weighted_amount_cny as weighted,
        null::numeric as target
    from pipeline as p
    union all
    select
        t.business_unit,
        t.product_line_code,
        t.region_code,
        t.team_id,
        t.owner_id,
        t.target_month,
        0 as lead_count,
        null as s1,
        null as s2,
        null as s3,
        null as s4,
        null as s5,
        null as pipeline,
        null as weighted,
        t.amount_cny as target
    from targets as t
),

grouped as (
    select
        coalesce(m.business_unit, '?') as business_unit,
        m.product_line_code,
        case
            when grouping(m.owner_id) = 0 then 'PERSON'
            when grouping(m.team_id) = 0 then 'TEAM'
            when grouping(m.region_code) = 0 then 'REGION'
            else 'COMPANY'
        end as level,
        m.region_code,
        m.team_id,
        m.owner_id,
        m.target_month,
        sum(m.lead_count) as open_leads,
        coalesce(sum(m.s1), 0) as s1_cny,
        coalesce(sum(m.s2), 0) as s2_cny,
        coalesce(sum(m.s3), 0) as s3_cny,
        coalesce(sum(m.s4), 0) as s4_cny,
        coalesce(sum(m.s5), 0) as s5_pending_order_cny,
        coalesce(sum(m.pipeline), 0) as pipeline_cny,
        coalesce(sum(m.weighted), 0) as weighted_pipeline_cny,
        sum(m.target) as order_target_cny
    from measures as m
    group by grouping sets (
        (coalesce(m.business_unit, '?'), m.product_line_code, m.target_month),
        (coalesce(m.business_unit, '?'), m.product_line_code, m.target_month, m.region_code),
        (coalesce(m.business_unit, '?'), m.product_line_code, m.target_month, m.region_code, m.team_id),
        (
            coalesce(m.business_unit, '?'), m.product_line_code, m.target_month, m.region_code, m.team_id,
            m.owner_id
        )
    )
)

select
    cast(:review_date as date) as review_date,
    g.business_unit,
    g.product_line_code,
    g.level,
    g.region_code,
    g.team_id,
    g.owner_id,
    g.target_month,
    g.open_leads,
    g.s1_cny,
    g.s2_cny,
    g.s3_cny,
    g.s4_cny,
    g.s5_pending_order_cny,
    g.pipeline_cny,
    g.weighted_pipeline_cny,
    g.order_target_cny,
    case
        when coalesce(g.order_target_cny, 0) <> 0 then round(g.weighted_pipeline_cny / g.order_target_cny, 4)
    end as coverage_ratio,
    case when coalesce(g.order_target_cny, 0) = 0 then 'no target' end as coverage_note
from grouped as g;
