"""Opportunities (leads) per customer x product line "slot", with history, visits and defects.

A slot holds a renewal process: one lead at a time; the next is created some
weeks after the previous one closes, so at most one lead per customer and
product line is open (LQ07 only through injected duplicates). Each lead's
whole lifecycle is drawn from its own stream ``(seed, "lead", slot, seq)``;
what the CRM shows on an as-of day is that lifecycle cut at the day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from review_pipeline.simulator import reference as ref
from review_pipeline.simulator.clock import at, next_working_day, ts_text, work_minute
from review_pipeline.simulator.customers import Customer
from review_pipeline.simulator.org import Org
from review_pipeline.simulator.profiles import Profile
from review_pipeline.simulator.rng import ri, stream
from review_pipeline.simulator.truth import Truth

FIELDS = (
    "customer_id", "owner_id", "product_line_code", "stage_name", "status_name", "amount",
    "expected_tender_date", "expected_order_date", "expected_collection_date",
    "expected_collection_amount", "tender_date", "bid_price", "competitors", "bid_result",
    "lost_reason",
)  # fmt: skip
OPEN_STATUSES = (ref.ST_OPEN, ref.ST_PENDING)
CENT = Decimal("0.01")
IDS_PER_LEAD = 3  # the lead, an injected duplicate, a mistaken entry (deleted)
LEADS_PER_SLOT = 1000 // IDS_PER_LEAD

NEW, STAGE, STATUS, FIELD, OWNER, REOPEN = (
    "新建",
    "阶段变更",
    "状态变更",
    "字段变更",
    "转移负责人",
    "重新打开",
)


@dataclass
class Ev:
    day: date
    minute: int
    kind: str
    changes: dict[str, object]
    actor: str | None = None  # user id; None = the owner after the change
    late: bool = False
    bad_updated_at: datetime | None = None  # LQ13

    @property
    def ts(self) -> datetime:
        return at(self.day, self.minute)

    @property
    def ts_text(self) -> str:
        return ts_text(self.day, self.minute)

    @property
    def visible(self) -> date:
        return self.day + timedelta(days=1) if self.late else self.day


@dataclass
class Visit:
    visit_id: int
    user_id: str
    customer_id: str
    opp_id: int | None
    day: date
    vtype: str
    summary: str
    created: str  # timestamptz text
    visible: date
    deleted: date | None = None


@dataclass
class Lead:
    opp_id: int
    opp_code: str
    name: str
    created_day: date
    events: list[Ev] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    deleted: date | None = None
    truths: list[Truth] = field(default_factory=list)
    order: tuple[date, Decimal, str] | None = None  # (order date, amount, owner id)
    close_day: date = date.max

    def last_day(self) -> date:
        days = [e.visible for e in self.events] + [v.visible for v in self.visits]
        days += [v.deleted for v in self.visits if v.deleted] + [t.known_day for t in self.truths]
        if self.deleted:
            days.append(self.deleted)
        if self.order:
            days.append(self.order[0])
        return max(days)


def money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def round_amount(value: float) -> Decimal:
    return Decimal(int(value / 1000) * 1000).quantize(CENT)


@dataclass
class SlotContext:
    seed: int
    profile: Profile
    org: Org
    start: date

    def owner_position(self, customer: Customer, bu: str) -> int:
        positions = self.org.sales_by_region[(bu, customer.province_code)]
        return positions[int(customer.position_pick[bu] * len(positions))]


class LeadBuilder:
    """Draws one lead's lifecycle (stages, dates, amounts, owners, visits, defects)."""

    def __init__(
        self,
        ctx: SlotContext,
        customer: Customer,
        line: ref.ProductLine,
        slot: int,
        seq: int,
        c: date,
    ) -> None:
        self.ctx = ctx
        self.cust = customer
        self.line = line
        self.slot = slot
        self.seq = seq
        self.c = c
        self.r = stream(ctx.seed, "lead", slot, seq)
        # Leads migrated at go-live (created before the start) get defects only on later days.
        self.rates = ctx.profile.rates
        self.pos = ctx.owner_position(customer, line.bu)
        opp_id = slot * 1000 + seq * IDS_PER_LEAD
        self.lead = Lead(opp_id, f"XS{c:%y%m%d}{opp_id:09d}", self._name(), c)
        self.truths = self.lead.truths
        self.events: list[Ev] = []

    # ---------------------------------------------------------------- helpers
    def _name(self) -> str:
        kinds = ("采购项目", "建设项目", "扩容项目", "升级改造项目", "运维服务项目")
        return f"{self.cust.name}{self.line.name}{self.r.choice(kinds)}"

    def truth(self, rule: str, day: date, detail: str, known: date | None = None) -> None:
        self.truths.append(
            Truth(rule, "lead", self.lead.opp_code, day, detail, known or day, f"slot:{self.slot}")
        )

    def holder_uid(self, day: date) -> str:
        return self.ctx.org.user_id(self.ctx.org.holder(self.pos, day))

    def _amount(self) -> Decimal:
        median = float(self.line.median_amount)
        value = self.r.lognormvariate(0.0, 0.6) * median
        return round_amount(min(max(value, 0.2 * median), 6 * median))

    # ---------------------------------------------------------------- build
    def build(self) -> Lead:
        r = self.r
        creation_kind = self._creation_kind()
        stages, close, outcome = self._path(creation_kind)
        self.lead.close_day = close
        amount = self._amount()
        e0 = self.c + timedelta(days=ri(r, 25, 120))
        state: dict[str, object] = {
            "customer_id": self.cust.customer_id,
            "owner_id": self.holder_uid(self.c),
            "product_line_code": self.line.code,
            "stage_name": ref.STAGES[stages[0][1] - 1],
            "status_name": ref.ST_PENDING if stages[0][1] == 5 else ref.ST_OPEN,
            "amount": amount,
            "expected_tender_date": e0 - timedelta(days=ri(r, 5, 20)),
            "expected_order_date": e0,
            "expected_collection_date": e0 + timedelta(days=ri(r, 30, 120)),
            "expected_collection_amount": money(float(amount) * r.uniform(0.3, 1.0)),
            "tender_date": None,
            "bid_price": None,
            "competitors": None,
            "bid_result": None,
            "lost_reason": None,
        }
        self.events.append(Ev(self.c, work_minute(r), NEW, state))
        self._stage_events(stages, outcome, close, amount)
        self._creation_defect(creation_kind, state)
        self._slips(stages, close, outcome)
        self.events.sort(key=lambda e: (e.day, e.minute))
        self._owners()
        self.events.sort(key=lambda e: (e.day, e.minute))
        self._lq13()
        self.lead.events = self.events
        self._visits()
        if outcome == ref.ST_ORDERED:
            self._order(close)
        return self.lead

    def _creation_kind(self) -> str | None:
        u = self.r.random()
        if self.c < self.ctx.start:
            return None
        acc = 0.0
        for rule in ("LQ01", "LQ02", "LQ03", "LQ11"):
            acc += self.rates[rule]
            if u < acc:
                return rule
        return None

    def _path(self, creation_kind: str | None) -> tuple[list[tuple[date, int, str]], date, str]:
        """Stage entries (day, stage 1..5, change kind), the close day and the outcome."""
        r = self.r
        outcome = r.choices((ref.ST_ORDERED, ref.ST_LOST, ref.ST_CANCELLED), (0.38, 0.45, 0.17))[0]
        first = 1
        if creation_kind == "LQ11":
            first = r.choice((4, 5))
            outcome = ref.ST_ORDERED if first == 5 or r.random() < 0.6 else ref.ST_LOST
        if outcome == ref.ST_ORDERED:
            top = 5
        elif outcome == ref.ST_LOST:
            top = max(first, r.choice((1, 2, 3, 4)))
        else:
            top = r.choice((1, 2, 3))
        durations = {1: ri(r, 7, 35), 2: ri(r, 8, 45), 3: ri(r, 10, 60),
                     4: ri(r, 7, 40), 5: ri(r, 2, 25)}  # fmt: skip
        stages: list[tuple[date, int, str]] = [(self.c, first, NEW)]
        day = self.c
        s2_day = next_working_day(self.c + timedelta(days=durations[1]))
        skip = top >= 4 and first == 1 and r.random() < self.rates["LQ04"] / 2
        skip = skip and s2_day >= self.ctx.start
        back = (
            not skip and top >= 3 and first == 1 and r.random() < self.rates["LQ04"] / 2
        ) and durations[3] >= 10
        for stage in range(first + 1, top + 1):
            day = next_working_day(day + timedelta(days=durations[stage - 1]))
            if skip and stage in (2, 3):
                continue
            if skip and stage == 4:
                self.truth("LQ04", day, "stage skipped: 需求识别 -> 招标")
            stages.append((day, stage, STAGE))
            if back and stage == 3:
                back_day = next_working_day(day + timedelta(days=ri(r, 2, durations[3] - 3)))
                if back_day < self.ctx.start:
                    continue
                stages.append((back_day, 2, STAGE))
                self.truth("LQ04", back_day, "stage went backwards: 商务推进 -> 立项")
                day = next_working_day(back_day + timedelta(days=ri(r, 5, 15)))
                stages.append((day, 3, STAGE))
        last = stages[-1][0]
        if outcome == ref.ST_ORDERED:
            close = next_working_day(last + timedelta(days=durations[5]))
        else:
            close = next_working_day(last + timedelta(days=ri(r, 1, durations[top])))
        return stages, close, outcome

    def _stage_events(
        self, stages: list[tuple[date, int, str]], outcome: str, close: date, amount: Decimal
    ) -> None:
        r = self.r
        competitors = "、".join(r.sample(ref.COMPETITORS[self.line.bu], ri(r, 1, 3)))
        s4_exit = close
        for i, (_day, stage, _) in enumerate(stages):
            if stage == 4 and i + 1 < len(stages):
                s4_exit = stages[i + 1][0]
        tender = s4_exit if stages[-1][1] >= 4 else None
        if stages[0][1] == 5:
            tender = self.c - timedelta(days=ri(r, 1, 3))
        for day, stage, kind in stages:
            changes: dict[str, object] = {"stage_name": ref.STAGES[stage - 1]}
            if kind == NEW and stage < 4:
                continue
            if stage in (2, 3) and kind != NEW and r.random() < 0.4:
                amount = round_amount(float(amount) * r.uniform(0.9, 1.1))
                changes["amount"] = amount
            if stage >= 4 and tender is not None:
                bid = {
                    "tender_date": tender,
                    "bid_price": money(float(amount) * r.uniform(0.88, 0.99)),
                    "competitors": competitors,
                }
                changes.update(bid)
                if stage == 4 and kind != NEW:
                    self._lq09(day, s4_exit, changes, bid)
            if stage == 5:
                changes.update({"status_name": ref.ST_PENDING, "bid_result": "中标"})
            if kind == NEW:
                self.events[0].changes.update(changes)
                self.truth("LQ11", day, f"created directly at {ref.STAGES[stage - 1]}")
                continue
            self.events.append(Ev(day, work_minute(r), STAGE, changes))
        self._close_event(outcome, close, stages[-1][1])

    def _lq09(
        self, day: date, s4_exit: date, changes: dict[str, object], bid: dict[str, object]
    ) -> None:
        r = self.r
        if (s4_exit - day).days < 3 or day < self.ctx.start or r.random() >= self.rates["LQ09"]:
            return
        missing = r.choice(("tender_date", "bid_price", "competitors"))
        changes[missing] = None
        fix = min(day + timedelta(days=ri(r, 2, 15)), s4_exit - timedelta(days=1))
        self.events.append(Ev(fix, work_minute(r), FIELD, {missing: bid[missing]}))
        self.truth("LQ09", day, f"招标 without {missing}")

    def _close_event(self, outcome: str, close: date, top: int) -> None:
        r = self.r
        if outcome == ref.ST_ORDERED:
            self.events.append(Ev(close, work_minute(r), STATUS, {"status_name": ref.ST_ORDERED}))
            return
        changes: dict[str, object] = {"status_name": outcome}
        if outcome == ref.ST_LOST:
            changes["lost_reason"] = r.choice(ref.LOST_REASONS)
            if top == 4:
                changes["bid_result"] = "未中标"
        self.events.append(Ev(close, work_minute(r), STATUS, changes))
        if outcome == ref.ST_LOST and top in (2, 3) and r.random() < 0.04:
            reopen = next_working_day(close + timedelta(days=ri(r, 5, 25)))
            again = next_working_day(reopen + timedelta(days=ri(r, 10, 40)))
            self.events.append(
                Ev(
                    reopen,
                    work_minute(r),
                    REOPEN,
                    {
                        "status_name": ref.ST_OPEN,
                        "owner_id": self.holder_uid(reopen),
                        "lost_reason": None,
                        "expected_order_date": again + timedelta(days=ri(r, 10, 60)),
                    },
                )
            )
            self.events.append(
                Ev(again, work_minute(r), STATUS, {"status_name": ref.ST_LOST,
                                                   "lost_reason": r.choice(ref.LOST_REASONS)})
            )  # fmt: skip
            self.lead.close_day = again

    def _creation_defect(self, kind: str | None, state: dict[str, object]) -> None:
        if kind not in ("LQ01", "LQ02", "LQ03"):
            return
        r = self.r
        fix_day = next_working_day(self.c + timedelta(days=ri(r, 2, 6)))
        fix: dict[str, object] = {}
        if kind == "LQ01":
            name = r.choice(("customer_id", "product_line_code", "expected_order_date"))
            fix[name] = state[name]
            state[name] = None
            detail = f"missing {name}"
        elif kind == "LQ02":
            fix["amount"] = state["amount"]
            if r.random() < 0.5:
                state["amount"] = r.choice((Decimal("0.00"), -state["amount"]))  # type: ignore[operator]
                detail = "amount <= 0"
            else:
                state["amount"] = round_amount(float(self.line.median_amount) * r.uniform(150, 400))
                detail = "amount outlier (over 10x the product line's p99)"
        else:
            if r.random() < 0.5:
                fix["stage_name"], state["stage_name"] = (
                    state["stage_name"],
                    r.choice(ref.INVALID_STAGES),
                )
            else:
                fix["status_name"], state["status_name"] = (
                    state["status_name"],
                    r.choice(ref.INVALID_STATUSES),
                )
            detail = f"unmapped stage/status {state['stage_name']}/{state['status_name']}"
        self.events.append(Ev(fix_day, work_minute(r), FIELD, fix))
        self.truth(kind, self.c, detail)

    def _slips(self, stages: list[tuple[date, int, str]], close: date, outcome: str) -> None:
        """Move the expected order date later before it passes (LQ05: sometimes too late)."""
        r = self.r
        expected = self.events[0].changes["expected_order_date"]
        if expected is None:  # LQ01 on the date: the fix event restores it
            expected = next(
                e.changes["expected_order_date"]
                for e in self.events
                if e.kind == FIELD and "expected_order_date" in e.changes
            )
        assert isinstance(expected, date)
        last = self.c
        end = close
        while expected < end:
            stale = expected + timedelta(days=1)
            if r.random() < self.rates["LQ05"] and stale < end and stale >= self.ctx.start:
                self.truth(
                    "LQ05", expected + timedelta(days=1), f"expected order date {expected} passed"
                )
                day = expected + timedelta(days=ri(r, 3, 20))
                if day >= end:
                    break
            else:
                day = max(expected - timedelta(days=ri(r, 1, 7)), last + timedelta(days=1))
                if day >= expected:
                    day = expected - timedelta(days=1)
            new = day + timedelta(days=ri(r, 10, 60))
            changes: dict[str, object] = {
                "expected_order_date": new,
                "expected_collection_date": new + timedelta(days=ri(r, 30, 120)),
            }
            late = r.random() < 0.01
            minute = 22 * 60 + ri(r, 0, 119) if late else work_minute(r)
            self.events.append(Ev(day, minute, FIELD, changes, late=late))
            last, expected = day, new

    def _owners(self) -> None:
        """Hand open leads to the position's new holder on their first day (LQ12: late)."""
        r = self.r
        org = self.ctx.org
        pos = org.positions[self.pos]
        status: object = None
        owner: object = None
        i = 0
        extra: list[Ev] = []
        for day, holder in pos.changes_between(self.c, self.lead.close_day):
            while i < len(self.events) and self.events[i].day < day:
                status = self.events[i].changes.get("status_name", status)
                owner = self.events[i].changes.get("owner_id", owner)
                i += 1
            if status not in (*OPEN_STATUSES, *ref.INVALID_STATUSES) or day > self.lead.close_day:
                continue
            new_uid = org.user_id(holder)
            if new_uid == owner:
                continue
            left = self._left_before(str(owner), day)
            move_day = day
            open_at_end = self._status_end_of(day) in (*OPEN_STATUSES, *ref.INVALID_STATUSES)
            if left and open_at_end and day >= self.ctx.start and r.random() < self.rates["LQ12"]:
                self.truth("LQ12", day, f"owner {owner} left on {day - timedelta(days=1)}")
                move_day = day + timedelta(days=ri(r, 3, 25))
                if move_day >= self.lead.close_day:
                    owner = new_uid
                    continue
            manager = org.user_id(org.manager_of_sales(self.pos, move_day))
            extra.append(
                Ev(
                    move_day,
                    8 * 60 + ri(r, 30, 60),
                    OWNER,
                    {"owner_id": org.user_id(org.holder(self.pos, move_day))},
                    actor=manager,
                )
            )
            owner = new_uid
        self.events.extend(extra)

    def _status_end_of(self, day: date) -> object:
        status: object = None
        for ev in self.events:
            if ev.day <= day:
                status = ev.changes.get("status_name", status)
        return status

    def _left_before(self, user_id: str, day: date) -> bool:
        idx = int(user_id[1:]) - 10001
        leave = self.ctx.org.people[idx].leave
        return leave is not None and leave < day

    def _lq13(self) -> None:
        """A client with a wrong clock saves the lead's closing change (updated_at impossible).

        Only the final change is hit, so the bad value stays (nothing rewrites
        updated_at later) and any later snapshot shows it; the history keeps
        the true changed_at.
        """
        r = self.r
        last = self.events[-1]
        closing = last.kind == STATUS and last.changes.get("status_name") in (
            ref.ST_ORDERED, ref.ST_LOST, ref.ST_CANCELLED,
        )  # fmt: skip
        if len(self.events) < 2 or not closing or last.day < self.ctx.start:
            return
        if r.random() >= min(1.0, 4 * self.rates["LQ13"]):
            return
        if r.random() < 0.7:
            last.bad_updated_at = self.events[0].ts - timedelta(hours=ri(r, 2, 72))
            detail = "updated_at before created_at"
        else:
            last.bad_updated_at = last.ts + timedelta(days=3653)  # a mistyped year
            detail = "updated_at in the future"
        self.truth("LQ13", last.visible, detail)

    # ---------------------------------------------------------------- visits
    def _intervals(self) -> list[tuple[date, date]]:
        """[a, b): days on which the lead ends S3+ and open."""
        out: list[tuple[date, date]] = []
        stage, status = 0, ""
        start: date | None = None
        for ev in self.events:
            st = ev.changes.get("stage_name", ref.STAGES[stage - 1] if stage else None)
            stage = ref.STAGES.index(str(st)) + 1 if st in ref.STAGES else 0
            status = str(ev.changes.get("status_name", status))
            active = stage >= 3 and status in OPEN_STATUSES
            if active and start is None:
                start = ev.day
            elif not active and start is not None:
                if ev.day > start:
                    out.append((start, ev.day))
                start = None
        if start is not None:
            out.append((start, self.lead.close_day + timedelta(days=1)))
        return out

    def _visits(self) -> None:
        r = self.r
        k = 0
        if r.random() < 0.5:
            self._add_visit(k, self.c + timedelta(days=ri(r, 0, 5)))
            k += 1
        for a, b in self._intervals():
            day = a
            gap_planned = (b - a).days >= 45 and r.random() < self.rates["LQ06"]
            first = True
            while day < b and k < 300:
                self._add_visit(k, day, first=first)
                k += 1
                first = False
                step = ri(r, 5, 18)
                gap_day = day + timedelta(days=30)
                if gap_planned and gap_day < b and day > a and gap_day >= self.ctx.start:
                    step = ri(r, 31, 45)
                    self.truth("LQ06", day + timedelta(days=30), f"no visit since {day}")
                    gap_planned = False
                day = day + timedelta(days=step)
        if r.random() < 0.05 and self.c >= self.ctx.start:
            day = self.c + timedelta(days=ri(r, 0, 3))
            visit = self._add_visit(999, day)  # ids stay inside the lead's range
            visit.deleted = day + timedelta(days=ri(r, 1, 5))

    def _add_visit(self, k: int, day: date, first: bool = False) -> Visit:
        r = self.r
        late = not first and r.random() < 0.01
        minute = 22 * 60 + ri(r, 0, 110) if late else ri(r, 17 * 60, 21 * 60)
        visit = Visit(
            self.lead.opp_id * 1000 + k,
            self.holder_uid(day),
            self.cust.customer_id,
            self.lead.opp_id,
            day,
            r.choice(ref.VISIT_TYPES),
            r.choice(ref.VISIT_SUMMARIES),
            ts_text(day, minute),
            day + timedelta(days=1) if late else day,
        )
        self.lead.visits.append(visit)
        return visit

    # ---------------------------------------------------------------- order
    def _order_day(self, drawn: date) -> date:
        """The finance order's date: the working day on or before ``drawn``, never before
        the lead's creation nor the first simulated day.

        The ERP exports one file per simulated day from the first one, so an order
        dated earlier would exist in the ERP (and satisfy the ground truth) but in no
        file: the checks would rightly miss it and report LQ10 where the truth has
        none. An order drawn before the floor moves up to it.
        """
        from review_pipeline.simulator.clock import prev_working_day_on_or_before

        floor = max(self.c, self.ctx.start)
        return prev_working_day_on_or_before(max(drawn, floor), floor)

    def _order(self, ordered: date) -> None:
        r = self.r

        amount = self._amount_on(ordered)
        owner = self._owner_on(ordered)
        if r.random() < self.rates["LQ10"]:
            if r.random() < 0.5:
                day = ordered + timedelta(days=31)
                self.truth("LQ10", day, "ordered without a finance order within 30 days", day)
                return
            factor = r.choice((r.uniform(0.5, 0.7), r.uniform(1.3, 1.6)))
            amount = money(float(amount) * factor)
            order_day = self._order_day(ordered + timedelta(days=ri(r, -3, 5)))
            day = max(order_day, ordered)
            self.truth("LQ10", day, f"finance order amount {amount} off by more than 20 %", day)
        else:
            order_day = self._order_day(ordered + timedelta(days=ri(r, -3, 5)))
            if r.random() < 0.2:
                amount = money(float(amount) * r.uniform(0.97, 1.03))
        self.lead.order = (order_day, amount, owner)

    def _amount_on(self, day: date) -> Decimal:
        amount: object = None
        for ev in self.events:
            if ev.day <= day and "amount" in ev.changes:
                amount = ev.changes["amount"]
        assert isinstance(amount, Decimal)
        return amount

    def _owner_on(self, day: date) -> str:
        owner: object = None
        for ev in self.events:
            if ev.day <= day and "owner_id" in ev.changes:
                owner = ev.changes["owner_id"]
        return str(owner)


# ------------------------------------------------------------------------ slot
def state_at(events: list[Ev], day: date) -> dict[str, object]:
    state: dict[str, object] = {}
    for ev in events:
        if ev.visible <= day:
            state.update(ev.changes)
    return state


def _duplicate(
    r: random.Random,
    ctx: SlotContext,
    orig: Lead,
    customer: Customer,
    line: ref.ProductLine,
    slot: int,
    seq: int,
) -> Lead | None:
    """LQ07: the same deal entered twice; the copy is cancelled some days later."""
    if r.random() >= ctx.profile.rates["LQ07"]:
        return None
    day = next_working_day(orig.created_day + timedelta(days=ri(r, 7, 20)))
    if day < ctx.start:
        return None
    state = state_at(orig.events, day)
    if day >= orig.close_day - timedelta(days=1) or state.get("status_name") != ref.ST_OPEN:
        return None
    amount = state["amount"]
    current = state["expected_order_date"]
    if not isinstance(current, date) or not isinstance(amount, Decimal) or amount <= 0:
        return None  # the original still carries a creation defect that day
    opp_id = slot * 1000 + seq * IDS_PER_LEAD + 1
    lead = Lead(opp_id, f"XS{day:%y%m%d}{opp_id:09d}", f"{customer.name}{line.name}项目", day)
    cancel = next_working_day(day + timedelta(days=ri(r, 5, 30)))
    pos = ctx.owner_position(customer, line.bu)
    owner = ctx.org.user_id(ctx.org.holder(pos, day))
    expected = max(current, cancel + timedelta(days=10))
    lead.events.append(
        Ev(day, work_minute(r), NEW, {
            "customer_id": customer.customer_id, "owner_id": owner,
            "product_line_code": line.code, "stage_name": ref.STAGES[0],
            "status_name": ref.ST_OPEN, "amount": round_amount(float(amount) * r.uniform(0.96, 1.04) + 500),
            "expected_tender_date": None, "expected_order_date": expected,
            "expected_collection_date": None, "expected_collection_amount": None,
            "tender_date": None, "bid_price": None, "competitors": None,
            "bid_result": None, "lost_reason": None,
        })
    )  # fmt: skip
    for change, holder in ctx.org.positions[pos].changes_between(day, cancel - timedelta(days=1)):
        lead.events.append(Ev(change, 8 * 60 + 40, OWNER, {"owner_id": ctx.org.user_id(holder)}))
    lead.events.append(Ev(cancel, work_minute(r), STATUS, {"status_name": ref.ST_CANCELLED}))
    lead.close_day = cancel
    detail = f"probable duplicate of {orig.opp_code} / {lead.opp_code}"
    for code in (lead.opp_code, orig.opp_code):
        lead.truths.append(Truth("LQ07", "lead", code, day, detail, day, f"slot:{slot}"))
    return lead


def _mistake(
    r: random.Random,
    ctx: SlotContext,
    orig: Lead,
    customer: Customer,
    line: ref.ProductLine,
    slot: int,
    seq: int,
) -> Lead | None:
    """A lead entered by mistake and hard-deleted 1-3 days later (always clean)."""
    if r.random() >= 0.01:
        return None
    day = next_working_day(orig.created_day + timedelta(days=ri(r, 0, 30)))
    if day < ctx.start:
        return None
    state = state_at(orig.events, day)
    amount = state.get("amount")
    median = float(line.median_amount)
    if isinstance(amount, Decimal) and amount > 0:
        value = float(amount) * (0.4 if float(amount) > 2 * median else 1.8)
    else:
        value = median
    opp_id = slot * 1000 + seq * IDS_PER_LEAD + 2
    lead = Lead(opp_id, f"XS{day:%y%m%d}{opp_id:09d}", f"{customer.name}{line.name}需求", day)
    pos = ctx.owner_position(customer, line.bu)
    lead.events.append(
        Ev(day, work_minute(r), NEW, {
            "customer_id": customer.customer_id, "owner_id": ctx.org.user_id(ctx.org.holder(pos, day)),
            "product_line_code": line.code, "stage_name": ref.STAGES[0],
            "status_name": ref.ST_OPEN, "amount": round_amount(value),
            "expected_tender_date": None, "expected_order_date": day + timedelta(days=60),
            "expected_collection_date": None, "expected_collection_amount": None,
            "tender_date": None, "bid_price": None, "competitors": None,
            "bid_result": None, "lost_reason": None,
        })
    )  # fmt: skip
    lead.deleted = day + timedelta(days=ri(r, 1, 3))
    lead.close_day = lead.deleted
    return lead


def slot_leads(
    ctx: SlotContext, customer: Customer, line: ref.ProductLine, slot: int, as_of: date
) -> tuple[list[Lead], date]:
    """Every lead of the slot created up to ``as_of``, and the next creation day."""
    r = stream(ctx.seed, "slot", slot)
    day = next_working_day(ctx.start - timedelta(days=ri(r, 0, 150)))
    out: list[Lead] = []
    seq = 0
    while day <= as_of and seq < LEADS_PER_SLOT:
        builder = LeadBuilder(ctx, customer, line, slot, seq, day)
        lead = builder.build()
        r = builder.r
        last_close = lead.close_day
        if lead.close_day >= ctx.start:
            out.append(lead)
            for extra in (
                _duplicate(r, ctx, lead, customer, line, slot, seq),
                _mistake(r, ctx, lead, customer, line, slot, seq),
            ):
                if extra is not None:
                    out.append(extra)
                if extra is not None and extra.deleted is None:
                    last_close = max(last_close, extra.close_day)
        gap = ri(r, 10, 60)
        day = next_working_day(last_close + timedelta(days=gap))
        seq += 1
    return out, day
