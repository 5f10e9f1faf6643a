-- `dq report`: findings of the day per rule and severity within a scope
-- (:scope_type all / region / team / person; org as of the day).
with scope_owner as (
    select ea.employee_id
    from staging.employee_assignment as ea
    left join staging.team as t on ea.team_id = t.team_id
    left join staging.region as r on t.region_code = r.region_code
    where
        ea.valid_from <= :business_date
        and (ea.valid_to is null or ea.valid_to > :business_date)
        and (
            (:scope_type = 'team' and ea.team_id = :scope_id)
            or (:scope_type = 'region' and (t.region_code = :scope_id or r.name = :scope_id))
            or (:scope_type = 'person' and ea.employee_id = :scope_id)
        )
),

scoped as (
    select f.*
    from dq.finding as f
    where
        f.business_date = :business_date
        and (
            :scope_type = 'all'
            or f.owner_id in (select so.employee_id from scope_owner as so)
            or (:scope_type = 'person' and f.owner_id = :scope_id)
        )
)

select
    s.rule_id,
    s.severity,
    s.entity_type,
    count(*) as hits,
    count(distinct s.owner_id) as owners
from scoped as s
group by s.rule_id, s.severity, s.entity_type
order by s.rule_id, s.severity
