"""Targets decomposed year -> month -> region -> team -> person, and monthly plans.

Every split distributes whole cents (largest remainder), so each level adds
up exactly: a company month row is the sum of its regions' rows, a region's
the sum of its teams', a team's the sum of its people's, for the same month,
product line, account level and measure; the company year row is the sum of
its months.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

from review_pipeline.simulator import reference as ref
from review_pipeline.simulator.clock import at, is_working_day, next_working_day
from review_pipeline.simulator.finance import split_cents
from review_pipeline.simulator.org import SALES, Org
from review_pipeline.simulator.rng import ri, stream

MONTH_WEIGHTS = (0.06, 0.04, 0.08, 0.07, 0.08, 0.09, 0.07, 0.07, 0.09, 0.08, 0.11, 0.16)
# Yearly order target per sales position (yuan); collections are 90 % of it.
ORDER_PER_PERSON = {"INFO": 14_000_000, "SOFT": 9_000_000}
LEVELS = {"company": "公司", "region": "省区", "team": "团队", "person": "个人"}
EPOCH = date(2000, 1, 1)

TargetRow = tuple[
    int, str, str, str | None, str, int, int | None, str, str, str, Decimal, datetime, datetime
]


def _cells(bu: str) -> list[tuple[str, str, float]]:
    return [
        (pl.code, tier, pl.weight * w)
        for pl in ref.BU_PRODUCT_LINES[bu]
        for tier, w in zip(ref.TIERS, ref.TIER_TARGET_WEIGHTS, strict=True)
    ]


def company_months(
    seed: int, org: Org, year: int, bu: str, measure: str
) -> list[dict[tuple[str, str], Decimal]]:
    """The company's target per month (index 0..11) and (product line, tier) cell."""
    n = sum(1 for p in org.positions if p.kind == SALES and p.bu == bu)
    r = stream(seed, "target-year", year, bu, measure)
    total = Decimal(ORDER_PER_PERSON[bu] * n) * Decimal(str(round(r.uniform(0.95, 1.1), 3)))
    if measure == "COLLECTION":
        total = total * Decimal("0.9")
    months = split_cents(total.quantize(Decimal("0.01")), list(MONTH_WEIGHTS))
    cells = _cells(bu)
    out = []
    for amount in months:
        parts = split_cents(amount, [w for _, _, w in cells])
        out.append({(pl, tier): part for (pl, tier, _), part in zip(cells, parts, strict=True)})
    return out


def created_day(year: int, month: int, start: date) -> date:
    return max(date(year, month, 1), start)


def year_rows(seed: int, org: Org, year: int, start: date) -> Iterator[TargetRow]:
    ts = at(max(date(year, 1, 1), start), 8 * 60)
    k = 0
    for bu, _ in ref.BUSINESS_UNITS:
        for measure, measure_name in ref.MEASURES:
            months = company_months(seed, org, year, bu, measure)
            for pl, tier, _ in _cells(bu):
                k += 1
                amount = sum((m[(pl, tier)] for m in months), Decimal("0.00"))
                yield (year * 100 * 10**7 + k, LEVELS["company"], f"U-{bu}", None, bu, year, None, pl,
                       ref.TIER_NAMES[tier], measure_name, amount, ts, ts)  # fmt: skip


def month_split(
    seed: int, org: Org, year: int, month: int, start: date
) -> dict[tuple[str, str, str, str, str], Decimal]:
    """Leaf targets: (position id as str, bu, product line, tier, measure) -> amount."""
    leaves: dict[tuple[str, str, str, str, str], Decimal] = {}
    for bu, _ in ref.BUSINESS_UNITS:
        regions = [u.unit_id for u in org.units if u.unit_type == "省区" and u.bu == bu]
        for measure, _ in ref.MEASURES:
            cells = company_months(seed, org, year, bu, measure)[month - 1]
            for (pl, tier), amount in cells.items():
                _split_regions(seed, org, bu, regions, amount, (pl, tier, measure), leaves)
    return leaves


def _split_regions(
    seed: int,
    org: Org,
    bu: str,
    regions: list[str],
    amount: Decimal,
    cell: tuple[str, str, str],
    leaves: dict[tuple[str, str, str, str, str], Decimal],
) -> None:
    rweights, pweights = _weights(seed, org, tuple(regions))
    for region, r_amount in zip(regions, split_cents(amount, rweights), strict=True):
        teams = org.region_teams[region]
        t_weights = [float(len(org.team_sales[t])) for t in teams]
        for team, t_amount in zip(teams, split_cents(r_amount, t_weights), strict=True):
            positions = org.team_sales[team]
            weights = [pweights[p] for p in positions]
            for pos, p_amount in zip(positions, split_cents(t_amount, weights), strict=True):
                leaves[(str(pos), bu, *cell)] = p_amount


_WEIGHT_CACHE: dict[
    tuple[int, str, int, tuple[str, ...]], tuple[list[float], dict[int, float]]
] = {}


def _weights(seed: int, org: Org, regions: tuple[str, ...]) -> tuple[list[float], dict[int, float]]:
    """Fixed region and person weights (a region's share follows its headcount)."""
    key = (seed, org.profile.name, org.profile.n_sales, regions)
    if key not in _WEIGHT_CACHE:
        rweights = [
            sum(len(org.team_sales[t]) for t in org.region_teams[r])
            * stream(seed, "rw", r).uniform(0.85, 1.15)
            for r in regions
        ]
        pweights = {
            p: stream(seed, "pw", p).uniform(0.8, 1.2)
            for r in regions
            for t in org.region_teams[r]
            for p in org.team_sales[t]
        }
        if len(_WEIGHT_CACHE) > 64:
            _WEIGHT_CACHE.clear()
        _WEIGHT_CACHE[key] = (rweights, pweights)
    return _WEIGHT_CACHE[key]


def month_rows(seed: int, org: Org, year: int, month: int, start: date) -> Iterator[TargetRow]:
    """Rows of every level for one month, created on its first day (or at go-live)."""
    day = created_day(year, month, start)
    holder_day = max(date(year, month, 1), start)
    ts = at(day, 8 * 60)
    leaves = month_split(seed, org, year, month, start)
    sums: dict[tuple[str, str, str | None, str, str, str, str], Decimal] = {}
    measure_names = dict(ref.MEASURES)
    for (pos_s, bu, pl, tier, measure), amount in leaves.items():
        pos = org.positions[int(pos_s)]
        assert pos.region_id is not None
        person = org.user_id(pos.holder_on(holder_day))
        keys = (
            ("person", person, pos.unit_id),
            ("team", pos.unit_id, pos.region_id),
            ("region", pos.region_id, f"U-{bu}"),
            ("company", f"U-{bu}", None),
        )
        for level, unit, parent in keys:
            key = (level, unit, parent, bu, pl, tier, measure)
            sums[key] = sums.get(key, Decimal("0.00")) + amount
    base = (year * 100 + month) * 10**7
    order = {"company": 0, "region": 1, "team": 2, "person": 3}
    for k, key in enumerate(
        sorted(sums, key=lambda x: (order[x[0]], x[1], x[3], x[4], x[5], x[6])), 1
    ):
        level, unit, parent, bu, pl, tier, measure = key
        yield (base + k, LEVELS[level], unit, parent, bu, year, month, pl, ref.TIER_NAMES[tier],
               measure_names[measure], sums[key], ts, ts)  # fmt: skip


def statement_days(month_first: date) -> list[date]:
    """The first working day of the month and of each later ISO week in it."""
    last = (month_first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    first = next_working_day(month_first)
    out = [first] if first <= last else []
    monday = first - timedelta(days=first.weekday()) + timedelta(days=7)
    while monday <= last:
        d = monday
        while d <= min(last, monday + timedelta(days=6)) and not is_working_day(d):
            d += timedelta(days=1)
        if d <= last and is_working_day(d):
            out.append(d)
        monday += timedelta(days=7)
    return out


def plan_rows(
    seed: int,
    org: Org,
    day: date,
    month_first: date,
    leaves: dict[tuple[str, str, str, str, str], Decimal],
    first_statement: bool,
) -> Iterator[tuple[object, ...]]:
    """Monthly plan statements made on ``day`` for the month starting ``month_first``."""
    per_pos: dict[tuple[int, str, str], Decimal] = {}
    for (pos_s, _bu, pl, _tier, measure), amount in leaves.items():
        key = (int(pos_s), pl, measure)
        per_pos[key] = per_pos.get(key, Decimal("0.00")) + amount
    measure_names = dict(ref.MEASURES)
    base = (day - EPOCH).days * 10**6
    pl_index = {p.code: i for i, p in enumerate(ref.PRODUCT_LINES)}
    by_pos: dict[int, list[tuple[str, str, Decimal]]] = {}
    for (pos, pl, measure), target in sorted(per_pos.items()):
        by_pos.setdefault(pos, []).append((pl, measure, target))
    for pos, cells in by_pos.items():
        person = org.user_id(org.positions[pos].holder_on(day))
        first = stream(seed, "plan", month_first, pos)  # the month's commitment per cell
        later = stream(seed, "replan", day, pos)  # this week's restatement
        ts = at(day, ri(later, 8 * 60 + 30, 11 * 60))
        for pl, measure, target in cells:
            f0 = first.uniform(0.7, 1.2)
            drift = 1.0 if first_statement else later.uniform(0.92, 1.08)
            amount = (target * Decimal(str(round(f0 * drift, 4)))).quantize(Decimal("0.01"))
            plan_id = base + pos * 20 + pl_index[pl] * 2 + (0 if measure == "ORDER" else 1)
            yield (plan_id, person, month_first, pl, measure_names[measure], amount, ts, ts)
