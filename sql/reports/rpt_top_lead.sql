-- R3 c-g TOP lists: every lead that qualifies for a list, ranked within its
-- business unit by amount descending then lead id; the TOP N of a scope is
-- taken when the rows are read (review_pipeline.reports.scope). Leads the
-- gate kept out of the figures still appear here (their error finding makes
-- them RED). The check flag follows the event the list is about.
delete from mart.rpt_top_lead where review_date = :review_date;

insert into mart.rpt_top_lead (
    review_date, business_unit, list_code, lead_id, company_rank, product_line_code, customer_id,
    customer_name, owner_id, owner_name, team_id, region_code, stage_code, amount_cny,
    weighted_amount_cny, expected_tender_date, expected_order_date, expected_collection_date,
    expected_collection_cny, check_flag, check_reasons
)
-- Only the versions a list can take are read (not every lead's state on D):
-- open on D, S4 / pending-order versions whatever their status, and S5
-- ordered versions that began in the month (a lead whose first S5 ordered
-- version began in M is in its current S5 ordered version since M or later).
with leads_now as (
    select s.*
    from dw.fct_lead_state as s
    where s.is_open and daterange(s.valid_from, s.valid_to) @> cast(:review_date as date)
    union all
    select s.*
    from dw.fct_lead_state as s
    where
        not s.is_open
        and s.stage_code in ('S4', 'S5_PENDING_ORDER')
        and s.valid_from <= :review_date
        and s.valid_to > :review_date
    union all
    select s.*
    from dw.fct_lead_state as s
    where
        not s.is_open
        and s.stage_code = 'S5_ORDERED'
        and s.valid_from >= :month_start
        and s.valid_from <= :review_date
        and s.valid_to > :review_date
),

candidates as (
    select
        'S5_ORDERED_IN_MONTH' as list_code,
        'ORDER' as event,
        l.lead_id
    from leads_now as l
    where
        l.stage_code = 'S5_ORDERED'
        -- the first S5 ordered version began in the month: none before it
        and not exists (
            select 1
            from dw.fct_lead_state as e
            where e.lead_id = l.lead_id and e.stage_code = 'S5_ORDERED' and e.valid_from < :month_start
        )
    union all
    select
        'S5_PENDING_ORDER' as list_code,
        'ORDER' as event,
        l.lead_id
    from leads_now as l
    where l.stage_code = 'S5_PENDING_ORDER'
    union all
    select
        'S4_COLLECTION_IN_MONTH' as list_code,
        'COLLECTION' as event,
        l.lead_id
    from leads_now as l
    where l.stage_code = 'S4' and l.expected_collection_date between :month_start and :month_end
    union all
    select
        'NEW_COLLECTION_IN_MONTH' as list_code,
        'COLLECTION' as event,
        l.lead_id
    from leads_now as l
    where
        l.is_open
        and l.expected_collection_date between :month_start and :month_end
        -- not open with a collection date in M on D-7
        and not exists (
            select 1
            from dw.fct_lead_state as p
            where
                p.lead_id = l.lead_id
                and p.valid_from <= :prev_date
                and p.valid_to > :prev_date
                and p.is_open
                and p.expected_collection_date between :month_start and :month_end
        )
    union all
    select
        'S4_TENDER_IN_MONTH' as list_code,
        'TENDER' as event,
        l.lead_id
    from leads_now as l
    where l.stage_code = 'S4' and l.expected_tender_date between :month_start and :month_end
),

checks as (
    select k.*
    -- the flags of the listed leads only
    from mart.lead_check_for(
        cast(:review_date as date),
        array(select distinct c.lead_id from candidates as c),
        cast(:red_no_update_days as integer),
        cast(:yellow_date_moved_days as integer),
        cast(:yellow_no_visit_days as integer),
        cast(:yellow_stage_unchanged_days as integer)
    ) as k
),

listed as (
    select
        c.list_code,
        l.lead_id,
        coalesce(l.business_unit, '?') as business_unit,
        l.product_line_code,
        l.customer_id,
        cu.name as customer_name,
        l.owner_id,
        e.name as owner_name,
        e.team_id,
        e.region_code,
        l.stage_code,
        l.amount_cny,
        round(l.amount_cny * st.win_probability, 2) as weighted_amount_cny,
        l.expected_tender_date,
        l.expected_order_date,
        l.expected_collection_date,
        l.expected_collection_cny,
        case c.event
            when 'TENDER' then k.tender_flag
            when 'ORDER' then k.order_flag
            else k.collection_flag
        end as check_flag,
        case c.event
            when 'TENDER' then k.tender_reasons
            when 'ORDER' then k.order_reasons
            else k.collection_reasons
        end as check_reasons
    from candidates as c
    inner join leads_now as l on c.lead_id = l.lead_id
    left join dw.dim_stage as st on l.stage_code = st.stage_code
    left join dw.employee_on(cast(:review_date as date)) as e on l.owner_id = e.employee_id
    left join dw.customer_on(cast(:review_date as date)) as cu on l.customer_id = cu.customer_id
    left join checks as k on l.lead_id = k.lead_id
)

select
    cast(:review_date as date) as review_date,
    li.business_unit,
    li.list_code,
    li.lead_id,
    row_number() over (
        partition by li.business_unit, li.list_code order by li.amount_cny desc nulls last, li.lead_id asc
    ) as company_rank,
    li.product_line_code,
    li.customer_id,
    li.customer_name,
    li.owner_id,
    li.owner_name,
    li.team_id,
    li.region_code,
    li.stage_code,
    li.amount_cny,
    li.weighted_amount_cny,
    li.expected_tender_date,
    li.expected_order_date,
    li.expected_collection_date,
    li.expected_collection_cny,
    coalesce(li.check_flag, 'GREEN') as check_flag,
    coalesce(li.check_reasons, '{}'::text[]) as check_reasons
from listed as li;
