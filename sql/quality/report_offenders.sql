-- `dq report`: the owners with the most weighted findings of the day in scope,
-- with their authenticity score and open leads.
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
        and f.owner_id is not null
        and (
            :scope_type = 'all'
            or f.owner_id in (select so.employee_id from scope_owner as so)
            or (:scope_type = 'person' and f.owner_id = :scope_id)
        )
),

per_owner as (
    select
        s.owner_id,
        count(*) filter (where s.severity = 'error') as errors,
        count(*) filter (where s.severity = 'warn') as warns,
        string_agg(distinct s.rule_id, ' ' order by s.rule_id) as rules
    from scoped as s
    group by s.owner_id
)

select
    p.owner_id,
    e.name,
    p.errors,
    p.warns,
    p.rules,
    a.open_leads,
    a.score
from per_owner as p
left join staging.employee as e on p.owner_id = e.employee_id
left join dq.authenticity_score as a
    on
        a.business_date = :business_date
        and a.scope_type = 'PERSON'
        and p.owner_id = a.scope_id
order by :error_weight * p.errors + :warn_weight * p.warns desc, p.owner_id asc
limit :top_n
