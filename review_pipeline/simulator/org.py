"""The sales organisation over time: units, people, positions, leavers, promotions, transfers.

Accounts and leads belong to *sales positions*; a position is held by one
person at a time. When a person leaves (last day L), a joiner or a promoted
colleague holds the position from L + 1. Each person's leave day is drawn
from their own stream at hire, transfers from one stream per day, so the
timeline up to any day does not depend on how far it is simulated.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta

from review_pipeline.simulator import reference as ref
from review_pipeline.simulator.profiles import Profile
from review_pipeline.simulator.rng import stream

SALES, TEAM_MANAGER, REGION_MANAGER, BU_HEAD = "SALES", "TEAM_MANAGER", "REGION_MANAGER", "BU_HEAD"
TITLES = {
    SALES: "销售经理",
    TEAM_MANAGER: "团队经理",
    REGION_MANAGER: "省区总经理",
    BU_HEAD: "事业部总经理",
}
REGION_WEIGHTS = {
    "SD": 1.3, "JS": 1.3, "ZJ": 1.2, "GD": 1.4, "HA": 1.0,
    "SC": 1.0, "HB": 0.9, "HE": 0.8, "FJ": 0.7, "SN": 0.7,
}  # fmt: skip
BU_SHARE = {"INFO": 0.55, "SOFT": 0.45}
TEAM_NUMERALS = "一二三四五六七八九十"
_RANK = {BU_HEAD: 0, REGION_MANAGER: 1, TEAM_MANAGER: 2, SALES: 3}


@dataclass(frozen=True)
class Unit:
    unit_id: str
    unit_type: str  # 事业部 / 省区 / 团队
    name: str
    bu: str
    parent: str | None
    province: str | None


@dataclass
class Person:
    idx: int
    user_id: str
    name: str
    bu: str
    hire: date
    leave_draw: date
    leave: date | None = None


@dataclass
class Position:
    pos_id: int
    kind: str
    bu: str
    unit_id: str  # team for SALES/TEAM_MANAGER, region for REGION_MANAGER, BU for BU_HEAD
    region_id: str | None
    starts: list[date] = field(default_factory=list)
    holders: list[int] = field(default_factory=list)

    def holder_on(self, day: date) -> int:
        i = bisect_right(self.starts, day) - 1
        return self.holders[max(i, 0)]

    def changes_between(self, after: date, until: date) -> list[tuple[date, int]]:
        """(day, new holder) for holder changes with after < day <= until."""
        i = bisect_right(self.starts, after)
        out = []
        while i < len(self.starts) and self.starts[i] <= until:
            out.append((self.starts[i], self.holders[i]))
            i += 1
        return out


@dataclass(frozen=True)
class Assignment:
    assignment_id: int
    person: int
    unit_id: str
    role: str
    manager: int | None
    indirect: int | None
    start: date
    end: date | None  # inclusive
    reason: str


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split an integer total by weights, exactly (largest remainder)."""
    wsum = sum(weights)
    raw = [total * w / wsum for w in weights]
    base = [math.floor(x) for x in raw]
    rest = total - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:rest]:
        base[i] += 1
    return base


class Org:
    """The organisation simulated from ``start`` to ``horizon`` (inclusive)."""

    def __init__(self, seed: int, profile: Profile, start: date, horizon: date) -> None:
        self.seed = seed
        self.profile = profile
        self.start = start
        self.horizon = horizon
        self.units: list[Unit] = []
        self.people: list[Person] = []
        self.positions: list[Position] = []
        self.sales_by_region: dict[tuple[str, str], list[int]] = {}  # (bu, province) -> pos ids
        self.team_manager_pos: dict[str, int] = {}
        self.region_manager_pos: dict[str, int] = {}
        self.bu_head_pos: dict[str, int] = {}
        self.team_sales: dict[str, list[int]] = {}
        self.region_teams: dict[str, list[str]] = {}
        self._build_structure()
        self._staff_initial()
        self._simulate()

    # ------------------------------------------------------------------ structure
    def _build_structure(self) -> None:
        bu_totals = allocate(self.profile.n_sales, [BU_SHARE[b] for b, _ in ref.BUSINESS_UNITS])
        for (bu, bu_name), bu_total in zip(ref.BUSINESS_UNITS, bu_totals, strict=True):
            bu_unit = f"U-{bu}"
            self.units.append(Unit(bu_unit, "事业部", bu_name, bu, None, None))
            self.bu_head_pos[bu] = self._add_position(BU_HEAD, bu, bu_unit, None)
            per_region = allocate(bu_total, [REGION_WEIGHTS[p.code] for p in ref.PROVINCES])
            for prov, n in zip(ref.PROVINCES, per_region, strict=True):
                region = f"U-{bu}-{prov.code}"
                self.units.append(
                    Unit(region, "省区", f"{bu_name}{prov.short}省区", bu, bu_unit, prov.name)
                )
                self.region_manager_pos[region] = self._add_position(
                    REGION_MANAGER, bu, region, region
                )
                n = max(n, 1)
                n_teams = max(1, round(n / 7))
                teams = []
                for t in range(n_teams):
                    team = f"{region}-T{t + 1}"
                    teams.append(team)
                    numeral = TEAM_NUMERALS[t] if t < 10 else str(t + 1)
                    self.units.append(
                        Unit(team, "团队", f"{prov.short}销售{numeral}部", bu, region, prov.name)
                    )
                    self.team_manager_pos[team] = self._add_position(TEAM_MANAGER, bu, team, region)
                    self.team_sales[team] = []
                self.region_teams[region] = teams
                ids = []
                for k in range(n):
                    team = teams[k % n_teams]
                    pid = self._add_position(SALES, bu, team, region)
                    self.team_sales[team].append(pid)
                    ids.append(pid)
                self.sales_by_region[(bu, prov.code)] = ids

    def _add_position(self, kind: str, bu: str, unit_id: str, region: str | None) -> int:
        pos = Position(len(self.positions), kind, bu, unit_id, region)
        self.positions.append(pos)
        return pos.pos_id

    def _new_person(self, bu: str, hire: date) -> int:
        idx = len(self.people)
        rng = stream(self.seed, "person", idx)
        name = rng.choice(ref.SURNAMES) + "".join(
            rng.choice(ref.GIVEN) for _ in range(rng.choice((1, 2, 2)))
        )
        mean_days = 365.0 / max(self.profile.attrition, 1e-6)
        first = max(hire, self.start)
        tenure = max(30, int(rng.expovariate(1.0 / mean_days)))
        self.people.append(
            Person(idx, f"E{10001 + idx}", name, bu, hire, first + timedelta(days=tenure))
        )
        return idx

    def _staff_initial(self) -> None:
        for pos in self.positions:
            rng = stream(self.seed, "hire", pos.pos_id)
            back = {SALES: 1800, TEAM_MANAGER: 3000, REGION_MANAGER: 4000, BU_HEAD: 5000}[pos.kind]
            hire = self.start - timedelta(days=rng.randint(30, back))
            person = self._new_person(pos.bu, hire)
            pos.starts.append(hire)
            pos.holders.append(person)

    # ------------------------------------------------------------------ dynamics
    def _simulate(self) -> None:
        current: dict[int, int] = {p.pos_id: p.holders[0] for p in self.positions}
        pos_of: dict[int, int] = {v: k for k, v in current.items()}
        heap = [(self.people[i].leave_draw, i) for i in current.values()]
        heapq.heapify(heap)
        transfer_p = self.profile.n_sales * self.profile.transfers_per_year / 365.0 / 2.0
        day = self.start
        while day <= self.horizon:
            leavers: list[int] = []
            while heap and heap[0][0] <= day:
                _, person = heapq.heappop(heap)
                if person in pos_of and self.people[person].leave is None:
                    leavers.append(person)
            touched: set[int] = set(leavers)
            changes: dict[int, int] = {}  # pos -> new holder (from day + 1)
            vacated = sorted(pos_of[p] for p in leavers)
            for person in leavers:
                self.people[person].leave = day
            # Fill from the top down; a promotion vacates the promoted person's position.
            queue = list(vacated)
            while queue:
                queue.sort(key=lambda pid: (_RANK[self.positions[pid].kind], pid))
                pid = queue.pop(0)
                pos = self.positions[pid]
                promoted = self._promotion_candidate(pos, current, touched)
                if promoted is None:
                    new = self._new_person(pos.bu, day + timedelta(days=1))
                    heapq.heappush(heap, (self.people[new].leave_draw, new))
                else:
                    new = current[promoted]
                    touched.add(new)
                    queue.append(promoted)
                changes[pid] = new
            rng = stream(self.seed, "transfer", day)
            if rng.random() < transfer_p:
                self._transfer(rng, current, touched, changes)
            for pid, new in changes.items():
                pos = self.positions[pid]
                pos.starts.append(day + timedelta(days=1))
                pos.holders.append(new)
                current[pid] = new
            if changes:
                pos_of = {v: k for k, v in current.items()}
            day += timedelta(days=1)

    def _promotion_candidate(
        self, pos: Position, current: dict[int, int], touched: set[int]
    ) -> int | None:
        """The position whose holder is promoted into ``pos`` (None: hire from outside)."""
        if pos.kind == REGION_MANAGER and pos.region_id:
            pool = [self.team_manager_pos[t] for t in self.region_teams[pos.region_id]]
        elif pos.kind == TEAM_MANAGER:
            pool = list(self.team_sales[pos.unit_id])
        else:
            return None
        pool = [p for p in pool if current[p] not in touched]
        if not pool:
            return None
        return min(pool, key=lambda p: (self.people[current[p]].hire, p))

    def _transfer(
        self, rng: object, current: dict[int, int], touched: set[int], changes: dict[int, int]
    ) -> None:
        import random

        assert isinstance(rng, random.Random)
        regions = [r for r, teams in self.region_teams.items() if len(teams) >= 2]
        if not regions:
            return
        region = rng.choice(sorted(regions))
        t1, t2 = rng.sample(self.region_teams[region], 2)
        a = [p for p in self.team_sales[t1] if current[p] not in touched and p not in changes]
        b = [p for p in self.team_sales[t2] if current[p] not in touched and p not in changes]
        if not a or not b:
            return
        pa, pb = rng.choice(a), rng.choice(b)
        changes[pa], changes[pb] = current[pb], current[pa]
        touched.update((current[pa], current[pb]))

    # ------------------------------------------------------------------ queries
    def holder(self, pos_id: int, day: date) -> int:
        return self.positions[pos_id].holder_on(day)

    def user_id(self, person: int) -> str:
        return self.people[person].user_id

    def manager_of_sales(self, pos_id: int, day: date) -> int:
        return self.holder(self.team_manager_pos[self.positions[pos_id].unit_id], day)

    def sales_positions(self) -> list[Position]:
        return [p for p in self.positions if p.kind == SALES]

    def assignments(self) -> list[Assignment]:
        """Every (person, unit, role, managers) period, split where a manager changes."""
        rows: list[tuple[date, int, int, str, str, int | None, int | None, date | None, str]] = []
        for pos in self.positions:
            mgr_pos, ind_pos = self._manager_positions(pos)
            for i, person in enumerate(pos.holders):
                start = pos.starts[i]
                end = pos.starts[i + 1] - timedelta(days=1) if i + 1 < len(pos.starts) else None
                leave = self.people[person].leave
                if end is None and leave is not None:
                    end = leave
                reason = self._start_reason(person, pos, start)
                cuts = sorted(
                    {
                        d
                        for mp in (mgr_pos, ind_pos)
                        if mp is not None
                        for d, _ in self.positions[mp].changes_between(start, end or self.horizon)
                        if d > self.start
                    }
                )
                seg_start = start
                for cut in [*cuts, None]:
                    seg_end = (cut - timedelta(days=1)) if cut else end
                    mgr = self.holder(mgr_pos, seg_start) if mgr_pos is not None else None
                    ind = self.holder(ind_pos, seg_start) if ind_pos is not None else None
                    rows.append(
                        (seg_start, pos.pos_id, person, pos.unit_id, pos.kind, mgr, ind, seg_end,
                         reason)
                    )  # fmt: skip
                    if cut:
                        seg_start, reason = cut, "上级变更"
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        return [
            Assignment(i + 1, r[2], r[3], r[4], r[5], r[6], r[0], r[7], r[8])
            for i, r in enumerate(rows)
        ]

    def _manager_positions(self, pos: Position) -> tuple[int | None, int | None]:
        bu_head = self.bu_head_pos[pos.bu]
        if pos.kind == SALES:
            assert pos.region_id is not None
            return self.team_manager_pos[pos.unit_id], self.region_manager_pos[pos.region_id]
        if pos.kind == TEAM_MANAGER:
            assert pos.region_id is not None
            return self.region_manager_pos[pos.region_id], bu_head
        if pos.kind == REGION_MANAGER:
            return bu_head, None
        return None, None

    def _start_reason(self, person: int, pos: Position, start: date) -> str:
        if self.people[person].hire == start or start < self.start:
            return "入职"
        return "调动" if pos.kind == SALES else "晋升"
