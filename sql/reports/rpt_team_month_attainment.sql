-- R4 Team monthly attainment: per team and salesperson (and their region and
-- the company) for the month of the review date: targets, month-to-date
-- actuals, open pipeline on the review date, plan accuracy so far this month
-- (plan = first statements for the month, actual = month-to-date), the
-- authenticity score on the review date (max(0, 1 - W / L) over the scope's
-- open leads) and daily-report compliance from the 1st of the month. Every
-- salesperson active on the review date has a row, even without figures.
delete from mart.rpt_team_month_attainment where review_date = :review_date;

insert into mart.rpt_team_month_attainment (
    review_date, business_unit, level, region_code, team_id, owner_id, month_start,
    order_target_cny, order_actual_mtd_cny, order_attainment_ratio, order_attainment_note,
    collection_target_cny, collection_actual_mtd_cny, collection_attainment_ratio,
    collection_attainment_note, open_leads, open_pipeline_cny, weighted_pipeline_cny,
    order_plan_cny, order_plan_accuracy_ratio, collection_plan_cny, collection_plan_accuracy_ratio,
    plan_note, scored_open_leads, finding_weight, authenticity_score, reports_required,
    reports_on_time, filed_on_time_ratio, approvals_due, approvals_on_time, approved_on_time_ratio,
    time_progress_ratio
)
with staff as (
    select
        e.employee_id,
        e.business_unit,
        e.region_code,
        e.team_id,
        e.is_active,
        e.role
    from dw.employee_on(cast(:review_date as date)) as e
),

measures as (
    select
        st.business_unit,
        st.region_code,
        st.team_id,
        st.employee_id as owner_id,
        null::numeric as order_target,
        null::numeric as order_actual,
        null::numeric as collection_target,
        null::numeric as collection_actual,
        null::integer as open_leads,
        null::numeric as pipeline,
        null::numeric as weighted,
        null::numeric as order_plan,
        null::numeric as collection_plan,
        null::integer as scored_leads,
        null::numeric as weight,
        null::integer as reports_required,
        null::integer as reports_on_time,
        null::integer as approvals_due,
        null::integer as approvals_on_time
    from staff as st
    where st.is_active and st.role = 'SALESPERSON'
    union all
    select
        t.business_unit,
        t.region_code,
        t.team_id,
        t.owner_id,
        case when t.measure = 'ORDER' then t.amount_cny end as order_target,
        null as order_actual,
        case when t.measure = 'COLLECTION' then t.amount_cny end as collection_target,
        null as collection_actual,
        null as open_leads,
        null as pipeline,
        null as weighted,
        null as order_plan,
        null as collection_plan,
        null as scored_leads,
        null as weight,
        null as reports_required,
        null as reports_on_time,
        null as approvals_due,
        null as approvals_on_time
    from mart.target_attributed(cast(:month_start as date), cast(:month_start as date)) as t
    union all
    select
        o.business_unit,
        o.owner_region_code as region_code,
        o.owner_team_id as team_id,
        o.owner_id,
        null as order_target,
        o.amount_cny as order_actual,
        null as collection_target,
        null as collection_actual,
        null as open_leads,
        null as pipeline,
        null as weighted,
        null as order_plan,
        null as collection_plan,
        null as scored_leads,
        null as weight,
        null as reports_required,
        null as reports_on_time,
        null as approvals_due,
        null as approvals_on_time
    from dw.fct_order_attributed as o
    where o.order_date between :month_start and :review_date
    union all
    select
        c.business_unit,
        c.owner_region_code as region_code,
        c.owner_team_id as team_id,
        c.owner_id,
        null as order_target,
        null as order_actual,
        null as collection_target,
        c.amount_cny as collection_actual,
        null as open_leads,
        null as pipeline,
        null as weighted,
        null as order_plan,
        null as collection_plan,
        null as scored_leads,
        null as weight,
        null as reports_required,
        null as reports_on_time,
        null as approvals_due,
        null as approvals_on_time
    from dw.fct_collection_attributed as c
    where c.collection_date between :month_start and :review_date
    union all
    select
        s.business_unit,
        s.owner_region_code as region_code,
        s.owner_team_id as team_id,
        s.owner_id,
        null as order_target,
        null as order_actual,
        null as collection_target,
        null as collection_actual,
        1 as open_leads,
        s.amount_cny as pipeline,
        s.weighted_amount_cny as weighted,
        null as order_plan,
        null as collection_plan,
        null as scored_leads,
        null as weight,
        null as reports_required,
        null as reports_on_time,
        null as approvals_due,
        null as approvals_on_time
    from dw.lead_state_on(cast(:review_date as date)) as s
    union all
    select
        p.business_unit,
        p.region_code,
        p.team_id,
        p.owner_id,
        null as order_target,
        null as order_actual,
        null as collection_target,
        null as collection_actual,
        null as open_leads,
        null as pipeline,
        null as weighted,
        case when p.measure = 'ORDER' then p.amount_cny end as order_plan,
        case when p.measure = 'COLLECTION' then p.amount_cny end as collection_plan,
        null as scored_leads,
        null as weight,
        null as reports_required,
        null as reports_on_time,
        null as approvals_due,
        null as approvals_on_time
    from mart.plan_attributed(cast(:month_start as date), cast(:month_start as date)) as p
    union all
    select
        st.business_unit,
        st.region_code,
        st.team_id,
        a.scope_id as owner_id,
        null as order_target,
        null as order_actual,
        null as collection_target,
        null as collection_actual,
        null as open_leads,
        null as pipeline,
        null as weighted,
        null as order_plan,
        null as collection_plan,
        a.open_leads::integer as scored_leads,
        a.weight,
        null as reports_required,
        null as reports_on_time,
        null as approvals_due,
        null as approvals_on_time
    from dq.authenticity_score as a
    inner join staff as st on a.scope_id = st.employee_id
    where a.business_date = :review_date and a.scope_type = 'PERSON'
    union all
    select
        st.business_unit,
        st.region_code,
        st.team_id,
        r.scope_id as owner_id,
        null as order_target,
        null as order_actual,
        null as collection_target,
        null as collection_actual,
        null as open_leads,
        null as pipeline,
        null as weighted,
        null as order_plan,
        null as collection_plan,
        null as scored_leads,
        null as weight,
        r.reports_required::integer as reports_required,
        r.reports_on_time::integer as reports_on_time,
        r.approvals_due::integer as approvals_due,
        r.approvals_on_time::integer as approvals_on_time
    from dq.report_compliance as r
    inner join staff as st on r.scope_id = st.employee_id
    where r.business_date between :month_start and :review_date and r.scope_type = 'PERSON'
),

grouped as (
    select
        coalesce(m.business_unit, '?') as business_unit,
        case
            when grouping(m.owner_id) = 0 then 'PERSON'
            when grouping(m.team_id) = 0 then 'TEAM'
            when grouping(m.region_code) = 0 then 'REGION'
            else 'COMPANY'
        end as level,
        m.region_code,
        m.team_id,
        m.owner_id,
        sum(m.order_target) as order_target_cny,
        coalesce(sum(m.order_actual), 0) as order_actual_mtd_cny,
        sum(m.collection_target) as collection_target_cny,
        coalesce(sum(m.collection_actual), 0) as collection_actual_mtd_cny,
        coalesce(sum(m.open_leads), 0) as open_leads,
        coalesce(sum(m.pipeline), 0) as open_pipeline_cny,
        coalesce(sum(m.weighted), 0) as weighted_pipeline_cny,
        sum(m.order_plan) as order_plan_cny,
        sum(m.collection_plan) as collection_plan_cny,
        sum(m.scored_leads) as scored_open_leads,
        sum(m.weight) as finding_weight,
        sum(m.reports_required) as reports_required,
        sum(m.reports_on_time) as reports_on_time,
        sum(m.approvals_due) as approvals_due,
        sum(m.approvals_on_time) as approvals_on_time
    from measures as m
    group by grouping sets (
        (coalesce(m.business_unit, '?')),
        (coalesce(m.business_unit, '?'), m.region_code),
        (coalesce(m.business_unit, '?'), m.region_code, m.team_id),
        (coalesce(m.business_unit, '?'), m.region_code, m.team_id, m.owner_id)
    )
),

context as (
    select
        exists(select 1 from dw.fct_order as o where o.order_date <= :review_date) as has_orders,
        exists(select 1 from dw.fct_collection as c where c.collection_date <= :review_date) as has_collections,
        cast(mart.working_days(:month_start, :review_date) as numeric)
        / nullif(mart.working_days(:month_start, :month_end), 0) as time_progress
),

noted as (
    select
        g.*,
        x.time_progress,
        case
            when coalesce(g.order_target_cny, 0) = 0 then 'no target'
            when not x.has_orders then 'no finance data'
        end as order_attainment_note,
        case
            when coalesce(g.collection_target_cny, 0) = 0 then 'no target'
            when not x.has_collections then 'no finance data'
        end as collection_attainment_note
    from grouped as g
    cross join context as x
)

select
    cast(:review_date as date) as review_date,
    n.business_unit,
    n.level,
    n.region_code,
    n.team_id,
    n.owner_id,
    cast(:month_start as date) as month_start,
    n.order_target_cny,
    n.order_actual_mtd_cny,
    case
        when n.order_attainment_note is null then round(n.order_actual_mtd_cny / n.order_target_cny, 4)
    end as order_attainment_ratio,
    n.order_attainment_note,
    n.collection_target_cny,
    n.collection_actual_mtd_cny,
    case
        when n.collection_attainment_note is null
            then round(n.collection_actual_mtd_cny / n.collection_target_cny, 4)
    end as collection_attainment_ratio,
    n.collection_attainment_note,
    n.open_leads,
    n.open_pipeline_cny,
    n.weighted_pipeline_cny,
    n.order_plan_cny,
    case
        when n.order_plan_cny > 0
            then round(greatest(0, 1 - abs(n.order_actual_mtd_cny - n.order_plan_cny) / n.order_plan_cny), 4)
    end as order_plan_accuracy_ratio,
    n.collection_plan_cny,
    case
        when n.collection_plan_cny > 0
            then round(
                greatest(0, 1 - abs(n.collection_actual_mtd_cny - n.collection_plan_cny) / n.collection_plan_cny), 4
            )
    end as collection_plan_accuracy_ratio,
    case when coalesce(n.order_plan_cny, 0) = 0 and coalesce(n.collection_plan_cny, 0) = 0 then 'no plan' end
        as plan_note,
    n.scored_open_leads,
    n.finding_weight,
    case
        when n.scored_open_leads > 0 then round(greatest(0, 1 - n.finding_weight / n.scored_open_leads), 4)
    end as authenticity_score,
    n.reports_required,
    n.reports_on_time,
    case
        when n.reports_required > 0 then round(cast(n.reports_on_time as numeric) / n.reports_required, 4)
    end as filed_on_time_ratio,
    n.approvals_due,
    n.approvals_on_time,
    case
        when n.approvals_due > 0 then round(cast(n.approvals_on_time as numeric) / n.approvals_due, 4)
    end as approved_on_time_ratio,
    round(n.time_progress, 4) as time_progress_ratio
from noted as n;
