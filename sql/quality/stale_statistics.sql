-- Staging tables the checks read whose planner statistics are missing or stale
-- (more than a tenth of the rows changed since the last analyze): a freshly
-- loaded table without statistics turns hash joins into nested loops.
select s.schemaname || '.' || s.relname as table_name
from pg_stat_user_tables as s
where
    s.schemaname = 'staging'
    and s.relname = any(:tables)
    and (
        coalesce(s.last_analyze, s.last_autoanalyze) is null
        or s.n_mod_since_analyze > 0.1 * greatest(s.n_live_tup, 1000)
    )
order by table_name
