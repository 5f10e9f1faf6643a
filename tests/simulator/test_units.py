"""Pure functions of the simulator: credit codes, calendar, exact splits, org."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

pytestmark = pytest.mark.unit


def test_credit_code_check_digit_on_known_valid_codes() -> None:
    from review_pipeline.simulator.credit_code import check_char, is_valid

    # The example code printed in GB 32100-2015 and a published business licence.
    assert check_char("91350100M000100Y4") == "3"
    assert is_valid("91350100M000100Y43")
    assert is_valid("9144030071526726XG")
    assert not is_valid("91350100M000100Y44")  # wrong check character
    assert not is_valid("91350100M000100Y4")  # too short
    assert not is_valid("91350100M000100I43")  # I is not in the alphabet


def test_generated_and_corrupted_codes() -> None:
    from review_pipeline.simulator.credit_code import corrupt, is_valid, make_code

    rng = random.Random(1)
    codes = [make_code(rng, "370100") for _ in range(200)]
    assert all(is_valid(c) and c.startswith("91370100") for c in codes)
    assert not any(is_valid(corrupt(c, rng)) for c in codes)


def test_calendar_makeup_saturdays_and_spring_festival() -> None:
    from review_pipeline.simulator.clock import is_working_day as sim_working_day
    from review_pipeline.workdays import is_working_day

    for makeup in (date(2026, 2, 14), date(2026, 9, 20)):
        assert makeup.weekday() >= 5
        assert is_working_day(makeup) and sim_working_day(makeup)
    for offset in range(5):
        holiday = date(2026, 2, 16) + timedelta(days=offset)
        assert holiday.weekday() < 5
        assert not is_working_day(holiday) and not sim_working_day(holiday)


def test_split_cents_adds_up_exactly() -> None:
    from review_pipeline.simulator.finance import split_cents

    rng = random.Random(3)
    for _ in range(200):
        total = Decimal(rng.randint(0, 10**9)) / 100
        weights = [rng.uniform(0.01, 5) for _ in range(rng.randint(1, 12))]
        parts = split_cents(total, weights)
        assert sum(parts) == total
        assert all(p >= 0 and p == p.quantize(Decimal("0.01")) for p in parts)


def test_org_timeline_is_independent_of_the_horizon() -> None:
    from review_pipeline.simulator.org import Org
    from review_pipeline.simulator.profiles import get_profile

    profile = get_profile("tiny")
    start = date(2026, 1, 5)
    short = Org(9, profile, start, start + timedelta(days=100))
    long = Org(9, profile, start, start + timedelta(days=400))
    for a, b in zip(short.positions, long.positions, strict=True):
        cut = [
            (s, h)
            for s, h in zip(b.starts, b.holders, strict=True)
            if s <= short.horizon + timedelta(days=1)
        ]
        assert list(zip(a.starts, a.holders, strict=True)) == cut
    # every sales position is held by exactly one active person on every day
    for day in (start, start + timedelta(days=50), start + timedelta(days=100)):
        holders = [long.holder(p.pos_id, day) for p in long.positions]
        assert len(set(holders)) == len(holders)
        for h in holders:
            person = long.people[h]
            assert person.hire <= day or person.hire < start
            assert person.leave is None or person.leave >= day


def test_unknown_rule_rate_is_refused() -> None:
    from review_pipeline.errors import UserError
    from review_pipeline.simulator.profiles import get_profile

    with pytest.raises(UserError):
        get_profile("small").with_rates(overrides={"LQ99": 0.1})
    with pytest.raises(UserError):
        get_profile("nope")
