-- A03 RED TOP projects (R3 TOP lists, R6 ledger for the last visit).
-- Every lead flagged RED in a TOP list of the review date, once per lead:
-- which events are overdue (tender, order, collection) and by how many days,
-- the other RED reasons, and the last visit. Reading keeps only the leads in
-- the scope's own TOP N (the rows its R3 sheet shows).
insert into mart.advice_item (
    review_date, rule_id, subject_key, business_unit, severity, subject_kind, subject_id,
    subject_name, grain, level, region_code, team_id, owner_id, stake_cny, evidence, sheet, row_key
)
with red as (
    select
        t.*,
        case
            when t.list_code = 'S4_TENDER_IN_MONTH' then 'tender'
            when t.list_code in ('S4_COLLECTION_IN_MONTH', 'NEW_COLLECTION_IN_MONTH') then 'collection'
            else 'order'
        end as event,
        'EVENT_OVERDUE' = any(t.check_reasons) as event_overdue
    from mart.rpt_top_lead as t
    where t.review_date = :review_date and t.check_flag = 'RED'
),

events as (
    select distinct
        r.business_unit,
        r.lead_id,
        r.event,
        cast(:review_date as date) - case r.event
            when 'tender' then r.expected_tender_date
            when 'collection' then r.expected_collection_date
            else r.expected_order_date
        end as days_overdue
    from red as r
    where r.event_overdue
),

overdue as (
    select
        e.business_unit,
        e.lead_id,
        jsonb_object_agg(e.event, e.days_overdue order by e.event) as overdue,
        max(e.days_overdue) as max_days_overdue
    from events as e
    group by e.business_unit, e.lead_id
),

reasons as (
    select
        r.business_unit,
        r.lead_id,
        array_agg(distinct x.reason order by x.reason) as reasons
    from red as r
    cross join lateral unnest(r.check_reasons) as x (reason)
    group by r.business_unit, r.lead_id
),

per_lead as (
    select distinct on (r.business_unit, r.lead_id)
        r.*,
        array_agg(r.list_code) over (partition by r.business_unit, r.lead_id) as lists
    from red as r
    order by r.business_unit asc, r.lead_id asc, r.event_overdue desc, r.list_code asc
)

select
    cast(:review_date as date) as review_date,
    'A03' as rule_id,
    concat_ws('|', p.business_unit, p.lead_id) as subject_key,
    p.business_unit,
    case
        when o.lead_id is not null or 'ERROR_FINDING' = any(rs.reasons) then 'high' else 'medium'
    end as severity,
    'lead' as subject_kind,
    p.lead_id as subject_id,
    p.customer_name as subject_name,
    'owner' as grain,
    'PERSON' as level,
    p.region_code,
    p.team_id,
    p.owner_id,
    coalesce(p.amount_cny, 0) as stake_cny,
    jsonb_build_object(
        'lead_id', p.lead_id,
        'customer', p.customer_name,
        'owner_id', p.owner_id,
        'owner', p.owner_name,
        'stage', p.stage_code,
        'amount_cny', p.amount_cny,
        'lists', to_jsonb(p.lists),
        'overdue', coalesce(o.overdue, '{}'::jsonb),
        'max_days_overdue', o.max_days_overdue,
        'reasons', to_jsonb(rs.reasons),
        'expected_tender_date', p.expected_tender_date,
        'expected_order_date', p.expected_order_date,
        'expected_collection_date', p.expected_collection_date,
        'last_visit_date', l.last_visit_date,
        'days_since_update', l.days_since_update
    ) as evidence,
    'R3' as sheet,
    jsonb_build_object('business_unit', p.business_unit, 'list_code', p.list_code, 'lead_id', p.lead_id)
        as row_key
from per_lead as p
left join overdue as o on p.business_unit = o.business_unit and p.lead_id = o.lead_id
left join reasons as rs on p.business_unit = rs.business_unit and p.lead_id = rs.lead_id
left join mart.rpt_lead_ledger as l on l.review_date = :review_date and p.lead_id = l.lead_id
