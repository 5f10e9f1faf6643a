"""Customers and channel partners, with their change history and LQ08 defects."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from review_pipeline.simulator import credit_code
from review_pipeline.simulator import reference as ref
from review_pipeline.simulator.clock import at, next_working_day, work_minute
from review_pipeline.simulator.org import REGION_WEIGHTS
from review_pipeline.simulator.profiles import Profile
from review_pipeline.simulator.rng import ri, stream
from review_pipeline.simulator.truth import Truth

FIELDS = (
    "customer_name", "credit_code", "is_named", "account_level", "industry_code", "city_code",
    "partner_id",
)  # fmt: skip


@dataclass
class Partner:
    partner_id: str
    name: str
    credit_code: str
    province: str
    signed_from: date
    created_at: datetime


@dataclass
class Version:
    valid_from: date
    changed_at: datetime
    visible: date
    state: dict[str, object]


@dataclass
class Customer:
    idx: int
    customer_id: str
    province_code: str
    true_city: str
    industry: str
    tier: str
    created_at: datetime
    versions: list[Version] = field(default_factory=list)
    lines: tuple[str, ...] = ()
    position_pick: dict[str, float] = field(default_factory=dict)
    truths: list[Truth] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.versions[0].state["customer_name"])

    def state_on(self, as_of: date) -> tuple[int, Version]:
        n = 0
        for i, v in enumerate(self.versions):
            if v.visible <= as_of:
                n = i
        return n + 1, self.versions[n]


def _org_type(industry: str) -> str:
    return {"GOV": "11", "EDU": "12", "MED": "12"}.get(industry, "91")


def build_partners(seed: int, profile: Profile, start: date) -> dict[str, list[Partner]]:
    out: dict[str, list[Partner]] = {}
    n = max(3, profile.n_customers // 250)
    k = 0
    for prov in ref.PROVINCES:
        items = []
        for _ in range(n):
            k += 1
            rng = stream(seed, "partner", k)
            city_code, city = rng.choice(prov.cities)
            name = f"{city}{rng.choice(ref.BRANDS)}{rng.choice(ref.PARTNER_SUFFIXES)}"
            signed = start - timedelta(days=ri(rng, 100, 2000))
            items.append(
                Partner(
                    f"P{k:05d}",
                    name,
                    credit_code.make_code(rng, city_code),
                    prov.name,
                    signed,
                    at(signed, work_minute(rng)),
                )
            )
        out[prov.code] = items
    return out


def _weighted(rng: random.Random, items: tuple[str, ...], weights: tuple[float, ...]) -> str:
    return rng.choices(items, weights=weights)[0]


def build_customers(
    seed: int,
    profile: Profile,
    start: date,
    horizon: date,
    partners: dict[str, list[Partner]],
) -> list[Customer]:
    provinces = [p.code for p in ref.PROVINCES]
    pweights = tuple(REGION_WEIGHTS[c] for c in provinces)
    by_code = {p.code: p for p in ref.PROVINCES}
    industries = tuple(c for c, _ in ref.INDUSTRIES)
    lines = tuple(p.code for p in ref.PRODUCT_LINES)
    line_w = tuple(p.weight for p in ref.PRODUCT_LINES)
    names: set[str] = set()
    rate = profile.rates["LQ08"]
    out = []
    for idx in range(profile.n_customers):
        rng = stream(seed, "customer", idx)
        prov = by_code[_weighted(rng, tuple(provinces), pweights)]
        city_code, city = rng.choice(prov.cities)
        industry = _weighted(rng, industries, ref.INDUSTRY_WEIGHTS)
        tier = _weighted(rng, ref.TIERS, ref.TIER_WEIGHTS)
        template = rng.choice(ref.CUSTOMER_TEMPLATES[industry])
        name = template.format(city=city, province=prov.short, brand=rng.choice(ref.BRANDS))
        base, n = name, 1
        while name in names:
            n += 1
            name = f"{base}（{city}第{n}分部）" if industry in ("GOV",) else f"{base}{n}号分公司"
        names.add(name)
        created_day = start - timedelta(days=ri(rng, 60, 3000))
        created = at(created_day, work_minute(rng))
        named = tier != "NON_NAMED"
        state: dict[str, object] = {
            "customer_name": name,
            "credit_code": credit_code.make_code(rng, city_code, _org_type(industry)),
            "is_named": named,
            "account_level": ref.TIER_NAMES[tier],
            "industry_code": industry,
            "city_code": city_code,
            "partner_id": None if named else rng.choice(partners[prov.code]).partner_id,
        }
        cust = Customer(idx, f"C{idx + 100001}", prov.code, city_code, industry, tier, created)
        cust.versions.append(Version(created_day, created, created_day, state))
        k = max(1, min(5, round(rng.gauss(profile.lines_per_customer, 1.0))))
        chosen: list[str] = []
        while len(chosen) < k:
            pick = _weighted(rng, lines, line_w)
            if pick not in chosen:
                chosen.append(pick)
        cust.lines = tuple(sorted(chosen, key=lines.index))
        cust.position_pick = {"INFO": rng.random(), "SOFT": rng.random()}
        # Separate streams: how many changes fall before the horizon must not shift later draws.
        _changes(cust, stream(seed, "customer-changes", idx), start, horizon, prov.cities)
        defects = stream(seed, "customer-lq08", idx)
        if named and defects.random() < rate:
            _inject_lq08(cust, defects, start, horizon)
        out.append(cust)
    return out


def _changes(
    cust: Customer,
    rng: random.Random,
    start: date,
    horizon: date,
    cities: tuple[tuple[str, str], ...],
) -> None:
    day = start
    while True:
        day = next_working_day(day + timedelta(days=max(1, int(rng.expovariate(1 / 600.0)))))
        if day > horizon:
            return
        state = dict(cust.versions[-1].state)
        kind = rng.random()
        if state["is_named"] and kind < 0.6:
            options = [t for t in ("战略", "TOP", "一般") if t != state["account_level"]]
            state["account_level"] = rng.choice(options)
        elif kind < 0.8:
            city_code, _ = rng.choice(cities)
            state["city_code"] = city_code
        elif kind < 0.9:  # reclassified by the master-data team
            state["industry_code"] = rng.choice([c for c, _ in ref.INDUSTRIES])
        else:
            continue
        cust.versions.append(Version(day, at(day, work_minute(rng)), day, state))


def _inject_lq08(cust: Customer, rng: random.Random, start: date, horizon: date) -> None:
    """One episode of bad master data on a named customer (fixed later, or not)."""
    defect = rng.choice(("account_level", "industry_code", "city_code", "credit_code"))
    at_start = rng.random() < 0.5
    day = start if at_start else next_working_day(start + timedelta(days=ri(rng, 1, 150)))
    if day > horizon:
        return
    fix = next_working_day(day + timedelta(days=ri(rng, 5, 60)))
    if rng.random() < 0.3:
        fix = horizon + timedelta(days=1)
    # Rebuild the version list: the defect holds on [day, fix), overriding changes in between.
    new: list[Version] = []
    for v in cust.versions:
        state = dict(v.state)
        in_defect = v.visible < fix and (at_start or v.visible >= day)
        if in_defect:
            _apply_defect(state, defect, rng)
        new.append(Version(v.valid_from, v.changed_at, v.visible, state))
    if not at_start:
        base = next(v for v in reversed(cust.versions) if v.visible <= day)
        state = dict(base.state)
        _apply_defect(state, defect, rng)
        new.append(Version(day, at(day, work_minute(rng)), day, state))
    if fix <= horizon:
        base = next(v for v in reversed(cust.versions) if v.visible <= fix)
        new.append(Version(fix, at(fix, work_minute(rng)), fix, dict(base.state)))
    new.sort(key=lambda v: v.changed_at)
    cust.versions = new
    detail = {
        "account_level": "named customer without account level",
        "industry_code": "named customer without industry",
        "city_code": "named customer without city",
        "credit_code": "invalid unified social credit code",
    }[defect]
    cust.truths.append(Truth("LQ08", "customer", cust.customer_id, day, detail, day, "customers"))


def _apply_defect(state: dict[str, object], defect: str, rng: random.Random) -> None:
    if defect == "credit_code":
        state["credit_code"] = credit_code.corrupt(str(state["credit_code"]), rng)
    else:
        state[defect] = None
