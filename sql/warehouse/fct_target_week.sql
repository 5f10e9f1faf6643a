-- Weekly allocation of the monthly targets staging changed since :since: each
-- ISO week of the month gets amount x its working days in the month / the
-- month's working days (China calendar with 调休); the last week with working
-- days takes the rounding remainder, so the weeks add up to the month exactly.
create temporary table tmp_changed_targets on commit drop as
select t.target_key
from dw.fct_target as t
inner join staging.target as s
    on
        t.level = s.level
        and t.org_key = s.org_key
        and t.year = s.year
        and coalesce(t.month, 0) = coalesce(s.month, 0)
        and t.business_unit = s.business_unit
        and coalesce(t.product_line_code, '') = coalesce(s.product_line_code, '')
        and coalesce(t.account_tier, '') = coalesce(s.account_tier, '')
        and t.measure = s.measure
where s.loaded_at >= :since and t.month_start is not null;

analyze tmp_changed_targets;

delete from dw.fct_target_week as w
where w.target_key in (select c.target_key from tmp_changed_targets as c);

insert into dw.fct_target_week (target_key, week_start, working_days, month_working_days, amount_cny)
with changed as (
    select
        t.target_key,
        t.month_start,
        t.amount_cny
    from dw.fct_target as t
    inner join tmp_changed_targets as c on t.target_key = c.target_key
),

months as (
    select distinct c.month_start from changed as c
),

weeks as (
    select
        d.month_start,
        d.week_start,
        count(*) filter (where d.is_working_day) as working_days
    from dw.dim_date as d
    inner join months as m on d.month_start = m.month_start
    group by d.month_start, d.week_start
),

month_totals as (
    select
        w.*,
        sum(w.working_days) over (partition by w.month_start) as month_working_days,
        max(w.week_start) filter (where w.working_days > 0) over (partition by w.month_start) as last_week
    from weeks as w
),

shares as (
    select
        c.target_key,
        m.week_start,
        m.working_days,
        m.month_working_days,
        m.last_week,
        c.amount_cny as month_amount_cny,
        round(c.amount_cny * m.working_days / m.month_working_days, 2) as share_cny
    from changed as c
    inner join month_totals as m on c.month_start = m.month_start
    where m.working_days > 0
),

final as (
    select
        s.target_key,
        s.week_start,
        s.working_days,
        s.month_working_days,
        case
            when s.week_start = s.last_week
                then
                    s.month_amount_cny
                    - coalesce(sum(s.share_cny) filter (where s.week_start <> s.last_week) over (
                        partition by s.target_key
                    ), 0)
            else s.share_cny
        end as amount_cny
    from shares as s
)

select
    target_key,
    week_start,
    working_days,
    month_working_days,
    amount_cny
from final;
