-- Stage classes with their win probabilities (bound from settings.stage_probabilities).
insert into dw.dim_stage (
    stage_code, stage, status, name_zh, name_en, stage_rank, win_probability, is_open
)
with stages as (
    select
        v.stage_code,
        v.stage,
        v.status,
        v.name_zh,
        v.name_en,
        v.stage_rank,
        v.win_probability,
        v.is_open
    from (
        values
        ('S1', 'S1', 'OPEN', '需求识别', 'need identified', 1, cast(:p_s1 as numeric(5, 4)), true),
        ('S2', 'S2', 'OPEN', '立项/方案', 'qualified, solution', 2, cast(:p_s2 as numeric(5, 4)), true),
        ('S3', 'S3', 'OPEN', '商务推进', 'business negotiation', 3, cast(:p_s3 as numeric(5, 4)), true),
        ('S4', 'S4', 'OPEN', '招标', 'tendering', 4, cast(:p_s4 as numeric(5, 4)), true),
        (
            'S5_PENDING_ORDER', 'S5', 'PENDING_ORDER', '中标-待下单', 'won, pending order', 5,
            cast(:p_s5_pending as numeric(5, 4)), true
        ),
        (
            'S5_ORDERED', 'S5', 'ORDERED', '中标-已下单', 'won, ordered', 5,
            cast(:p_s5_ordered as numeric(5, 4)), false
        ),
        ('LOST', 'LOST', 'LOST', '丢单', 'lost', 0, 0.0, false),
        ('CANCELLED', 'CANCELLED', 'CANCELLED', '取消', 'cancelled', 0, 0.0, false)
    ) as v (stage_code, stage, status, name_zh, name_en, stage_rank, win_probability, is_open)
)

select
    stage_code,
    stage,
    status,
    name_zh,
    name_en,
    stage_rank,
    win_probability,
    is_open
from stages
on conflict (stage_code) do update
    set
        stage = excluded.stage,
        status = excluded.status,
        name_zh = excluded.name_zh,
        name_en = excluded.name_en,
        stage_rank = excluded.stage_rank,
        win_probability = excluded.win_probability,
        is_open = excluded.is_open
    where (
        dim_stage.stage, dim_stage.status, dim_stage.name_zh, dim_stage.name_en, dim_stage.stage_rank,
        dim_stage.win_probability, dim_stage.is_open
    )
    is distinct from (
        excluded.stage, excluded.status, excluded.name_zh, excluded.name_en, excluded.stage_rank,
        excluded.win_probability, excluded.is_open
    );
