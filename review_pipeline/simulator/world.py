"""Build or extend the simulated world: the CRM database, the ERP files, the ground truth.

``generate`` builds the world from ``start`` to an as-of day; ``extend``
moves the as-of day K days on. Both write exactly what a one-shot build to
the new as-of day would hold: every entity is a pure function of the seed
and its key, cut at the as-of day, so only entities with something new in
the window are rewritten (slots whose next event falls in it, the last 40
days of daily reports, the new days' plans, targets and files).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from review_pipeline.db import crm_url, libpq_dsn, read_sql
from review_pipeline.errors import UserError
from review_pipeline.settings import Settings
from review_pipeline.simulator import activity, finance, targets
from review_pipeline.simulator import reference as ref
from review_pipeline.simulator.clock import at
from review_pipeline.simulator.customers import Customer, build_customers, build_partners
from review_pipeline.simulator.leads import FIELDS, Lead, SlotContext, slot_leads
from review_pipeline.simulator.org import TITLES, Org
from review_pipeline.simulator.profiles import Profile, get_profile
from review_pipeline.simulator.truth import Truth
from review_pipeline.simulator.writers import CopyWriter, table_ident

log = logging.getLogger(__name__)

ORG_LOOKAHEAD_DAYS = 800  # org and customer timelines are drawn this far past the as-of day
REPORT_RETOUCH_DAYS = 40  # daily reports can still change (late submission, approval) this long
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class WorldParams:
    profile: str
    seed: int
    start: date
    rate_scale: float = 1.0
    rate_overrides: dict[str, float] = field(default_factory=dict)

    def resolved_profile(self) -> Profile:
        return get_profile(self.profile).with_rates(self.rate_scale, self.rate_overrides)

    def to_json(self) -> str:
        return json.dumps(
            {
                "profile": self.profile,
                "seed": self.seed,
                "start": self.start.isoformat(),
                "rate_scale": self.rate_scale,
                "rate_overrides": self.rate_overrides,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> WorldParams:
        data = json.loads(text)
        return cls(
            data["profile"],
            int(data["seed"]),
            date.fromisoformat(data["start"]),
            float(data["rate_scale"]),
            {k: float(v) for k, v in data["rate_overrides"].items()},
        )


@dataclass
class Summary:
    params: WorldParams
    start: date
    as_of: date
    previous_as_of: date | None
    counts: dict[str, int]
    files: int
    truth_rows: int
    truth_path: Path
    finance_dir: Path
    crm_url: str


def _connect(settings: Settings) -> psycopg.Connection[Any]:
    url = crm_url(settings)
    conn = psycopg.connect(
        libpq_dsn(url),
        options=f"-c timezone={settings.timezone} -c statement_timeout=0",
    )
    return conn


def _workers() -> int:
    """Processes for the initial lead generation (``REVIEW_SIM_WORKERS``, default: CPUs, at most 2)."""
    configured = os.environ.get("REVIEW_SIM_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, min(2, os.cpu_count() or 1))


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _run_sql_file(conn: psycopg.Connection[Any], relative: str) -> None:
    # The simulator's DDL files are plain statements ending in ";" (no functions,
    # no quoted semicolons), so a split on ";" is enough and much faster than sqlparse.
    text = "\n".join(line.split("--")[0] for line in read_sql(relative).splitlines())
    for statement in text.split(";"):
        if statement.strip():
            conn.execute(statement.strip().encode())


# ------------------------------------------------------------------- entry points
def generate(
    settings: Settings,
    params: WorldParams,
    days: int,
    progress: Progress | None = None,
) -> Summary:
    """Build a new world from ``params.start`` for ``days`` days (replaces any earlier one)."""
    as_of = params.start + timedelta(days=days - 1)
    with _connect(settings) as conn:
        conn.execute("drop schema if exists crm cascade")
        conn.execute("drop schema if exists sim cascade")
        _run_sql_file(conn, "simulator/000_sim_state.sql")
        _run_sql_file(conn, "simulator/001_crm_tables.sql")
        finance_dir = settings.landing_dir / "finance"
        if finance_dir.is_dir():
            for old in sorted(finance_dir.iterdir()):
                if old.name.startswith(("orders_", "invoices_", "collections_")):
                    old.unlink()
        summary = _advance(conn, settings, params, None, as_of, progress)
        _run_sql_file(conn, "simulator/002_crm_indexes.sql")
        conn.commit()
        conn.execute("analyze")
    return summary


def extend(settings: Settings, days: int, progress: Progress | None = None) -> Summary:
    """Move an existing world's as-of day ``days`` days on."""
    with _connect(settings) as conn:
        try:
            rows = dict(conn.execute("select world_key, world_value from sim.world").fetchall())
        except psycopg.errors.UndefinedTable:
            raise UserError(
                "no simulated world in the CRM database yet; run `review-pipeline generate` first"
            ) from None
        if "as_of" not in rows:
            raise UserError(
                "the last `generate` did not finish; run `review-pipeline generate` again"
            )
        params = WorldParams.from_json(rows["params"])
        old = date.fromisoformat(rows["as_of"])
        summary = _advance(conn, settings, params, old, old + timedelta(days=days), progress)
        conn.commit()
    return summary


def world_state(settings: Settings) -> tuple[WorldParams, date] | None:
    with _connect(settings) as conn:
        try:
            rows = dict(conn.execute("select world_key, world_value from sim.world").fetchall())
        except psycopg.errors.UndefinedTable:
            return None
    if "as_of" not in rows:
        return None
    return WorldParams.from_json(rows["params"]), date.fromisoformat(rows["as_of"])


# ------------------------------------------------------------------------ the run
class _Run:
    def __init__(
        self,
        conn: psycopg.Connection[Any],
        settings: Settings,
        params: WorldParams,
        old: date | None,
        new: date,
        progress: Progress | None,
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.params = params
        self.profile = params.resolved_profile()
        self.seed = params.seed
        self.start = params.start
        self.old = old
        self.new = new
        self.first_new_day = self.start if old is None else old + timedelta(days=1)
        self.progress = progress or (lambda _s, _a, _t: None)
        self.w = CopyWriter(conn)
        horizon = new + timedelta(days=ORG_LOOKAHEAD_DAYS)
        self.org = Org(self.seed, self.profile, self.start, horizon)
        self.partners = build_partners(self.seed, self.profile, self.start)
        self.customers = build_customers(
            self.seed, self.profile, self.start, horizon, self.partners
        )
        self.ctx = SlotContext(self.seed, self.profile, self.org, self.start)
        self.files = 0

    # -- small tables, rewritten whole ------------------------------------------
    def reference_and_org(self) -> None:
        for table in (
            "dict_industry", "dict_city", "product_line", "org_unit", "sys_user",
            "user_assignment", "channel_partner", "customer", "customer_history",
        ):  # fmt: skip
            self.conn.execute(sql.SQL("truncate {}").format(table_ident(f"crm.{table}")))
        w, new = self.w, self.new
        for code, name in ref.INDUSTRIES:
            w.add("crm.dict_industry", (code, name))
        for prov in ref.PROVINCES:
            for code, name in prov.cities:
                w.add("crm.dict_city", (code, name, prov.name))
        for pl in ref.PRODUCT_LINES:
            w.add("crm.product_line", (pl.code, pl.name, pl.bu))
        go_live = at(self.start - timedelta(days=30), 9 * 60)
        for u in self.org.units:
            w.add(
                "crm.org_unit",
                (u.unit_id, u.unit_type, u.name, u.bu, u.parent, u.province, go_live, go_live),
            )
        self._people()
        for items in self.partners.values():
            for p in items:
                w.add(
                    "crm.channel_partner",
                    (
                        p.partner_id,
                        p.name,
                        p.credit_code,
                        p.province,
                        p.signed_from,
                        None,
                        p.created_at,
                        p.created_at,
                    ),
                )
        self.conn.execute("delete from sim.ground_truth where source_key = 'customers'")
        for c in self.customers:
            self._customer(c, new)
        w.flush()

    def _people(self) -> None:
        org, new = self.org, self.new
        title: dict[int, str] = {}
        hired_ts: dict[int, Any] = {}
        for a in org.assignments():
            if a.start > new:
                continue
            title[a.person] = TITLES[a.role]
            end = a.end if a.end is not None and a.end <= new else None
            created = at(max(a.start, org.people[a.person].hire), 9 * 60)
            updated = at(end, 17 * 60 + 30) if end else created
            hired_ts.setdefault(a.person, created)
            self.w.add(
                "crm.user_assignment",
                (a.assignment_id, org.user_id(a.person), a.unit_id, a.role,
                 org.user_id(a.manager) if a.manager is not None else None,
                 org.user_id(a.indirect) if a.indirect is not None else None,
                 a.start, end, a.reason, created, updated),
            )  # fmt: skip
        for p in org.people:
            if p.hire > new or p.idx not in title:
                continue
            left = p.leave is not None and p.leave <= new
            created = at(p.hire, 9 * 60)
            updated = at(p.leave, 17 * 60 + 30) if left and p.leave else created
            self.w.add(
                "crm.sys_user",
                (p.user_id, p.name, f"{p.user_id.lower()}@example.com", p.bu, title[p.idx], p.hire,
                 p.leave if left else None, "离职" if left else "在职", created, updated),
            )  # fmt: skip

    def _customer(self, c: Customer, new: date) -> None:
        version, current = c.state_on(new)
        s = current.state
        self.w.add(
            "crm.customer",
            (c.customer_id, s["customer_name"], s["credit_code"], s["is_named"], s["account_level"],
             s["industry_code"], s["city_code"], s["partner_id"], c.created_at, current.changed_at),
        )  # fmt: skip
        for i, v in enumerate(c.versions[:version], start=1):
            st = v.state
            self.w.add(
                "crm.customer_history",
                (c.customer_id, i, v.valid_from, v.changed_at, st["customer_name"], st["credit_code"],
                 st["is_named"], st["account_level"], st["industry_code"], st["city_code"], st["partner_id"]),
            )  # fmt: skip
        for t in c.truths:
            if t.known_day <= new:
                self.w.add("sim.ground_truth", t.row())

    # -- slots (leads, history, visits, ERP rows) ------------------------------------
    def slots(self) -> int:
        all_slots = [
            (c, ref.PRODUCT_LINE[code], c.idx * 8 + i)
            for c in self.customers
            for i, code in enumerate(p.code for p in ref.PRODUCT_LINES)
            if code in c.lines
        ]
        if self.old is not None:
            due = {
                int(r[0])
                for r in self.conn.execute(
                    "select slot_id from sim.slot_state where next_event_day <= %s", (self.new,)
                )
            }
            all_slots = [s for s in all_slots if s[2] in due]
            self._delete_slots([s[2] for s in all_slots])
        workers = _workers()
        threshold = 0 if os.environ.get("REVIEW_SIM_WORKERS") else 2000  # small worlds: one process
        if self.old is None and workers > 1 and len(all_slots) >= threshold:
            self._slots_parallel(all_slots, workers)
        else:
            self._slot_range(all_slots, None)
        return len(all_slots)

    def _slot_range(self, items: list[tuple[Customer, ref.ProductLine, int]], counter: Any) -> None:
        total = len(items)
        for n, (customer, line, slot) in enumerate(items, start=1):
            leads, next_creation = slot_leads(self.ctx, customer, line, slot, self.new)
            upcoming = [next_creation]
            for lead in leads:
                upcoming.append(self._project(lead, slot))
            self.w.add("sim.slot_state", (slot, min(upcoming)))
            if n % 200 == 0 or n == total:
                if counter is None:
                    self.progress("leads", n, total)
                else:
                    counter.value = n
        self.w.flush()

    def _slots_parallel(
        self, items: list[tuple[Customer, ref.ProductLine, int]], workers: int
    ) -> None:
        """Slots split over worker processes, each streaming COPY on its own connection.

        The tables must be visible to the workers, so what is written so far is
        committed first; a failed run leaves no as-of day, and ``--continue``
        then asks for a new ``generate``.
        """
        import multiprocessing
        import time

        self.w.flush()
        self.conn.commit()
        ctx = multiprocessing.get_context("fork")
        counters = [ctx.Value("l", 0) for _ in range(workers)]
        procs = [
            ctx.Process(
                target=self._slot_worker, args=(items[k::workers], counters[k]), daemon=True
            )
            for k in range(workers)
        ]
        for p in procs:
            p.start()
        while any(p.is_alive() for p in procs):
            time.sleep(0.5)
            self.progress("leads", sum(int(c.value) for c in counters), len(items))
        for p in procs:
            p.join()
        if any(p.exitcode != 0 for p in procs):
            raise RuntimeError("a lead-generation worker failed (see its traceback above)")
        self.progress("leads", len(items), len(items))

    def _slot_worker(
        self, items: list[tuple[Customer, ref.ProductLine, int]], counter: Any
    ) -> None:
        conn = _connect(self.settings)
        self.conn = conn
        self.w = CopyWriter(conn)
        self._slot_range(items, counter)
        conn.commit()
        conn.close()

    def _delete_slots(self, slots: list[int]) -> None:
        self.w.flush()
        self.conn.execute(
            "create temp table if not exists touched (slot_id bigint primary key) on commit drop"
        )
        self.conn.execute("truncate touched")
        with self.conn.cursor() as cur, cur.copy("copy touched (slot_id) from stdin") as copy:
            for s in slots:
                copy.write_row((s,))
        for stmt in (
            "delete from crm.opportunity o using touched t"
            " where o.opp_id >= t.slot_id * 1000 and o.opp_id < (t.slot_id + 1) * 1000",
            "delete from crm.opportunity_history h using touched t"
            " where h.history_id >= t.slot_id * 1000000 and h.history_id < (t.slot_id + 1) * 1000000",
            "delete from crm.visit_record v using touched t"
            " where v.visit_id >= t.slot_id * 1000000 and v.visit_id < (t.slot_id + 1) * 1000000",
            "delete from sim.erp_collection e using touched t where e.slot_id = t.slot_id",
            "delete from sim.erp_invoice e using touched t where e.slot_id = t.slot_id",
            "delete from sim.erp_order e using touched t where e.slot_id = t.slot_id",
            "delete from sim.ground_truth g using touched t where g.source_key = 'slot:' || t.slot_id",
            "delete from sim.slot_state s using touched t where s.slot_id = t.slot_id",
        ):
            self.conn.execute(stmt.encode())

    def _project(self, lead: Lead, slot: int) -> date:
        """Write the lead as it stands at the end of the as-of day; return its next event day."""
        new = self.new
        upcoming = [d for d in self._lead_days(lead) if d > new]
        nxt = min(upcoming) if upcoming else date.max
        created = lead.events[0]
        if created.visible > new or (lead.deleted is not None and lead.deleted <= new):
            return nxt
        state: dict[str, object] = {}
        last = created
        seq = 0
        for ev in lead.events:
            if ev.visible > new:
                continue
            seq += 1
            state.update(ev.changes)
            last = ev
            actor = ev.actor or state["owner_id"] or "SYSTEM"
            self.w.add(
                "crm.opportunity_history",
                (lead.opp_id * 1000 + seq, lead.opp_id, seq, ev.ts_text, actor, ev.kind,
                 *(state[f] for f in FIELDS)),
            )  # fmt: skip
        creator = created.changes["owner_id"] or "SYSTEM"
        self.w.add(
            "crm.opportunity",
            (lead.opp_id, lead.opp_code, lead.name, *(state[f] for f in FIELDS), created.ts_text,
             creator, last.bad_updated_at or last.ts_text, last.actor or state["owner_id"] or "SYSTEM"),
        )  # fmt: skip
        for v in lead.visits:
            if v.visible <= new and not (v.deleted is not None and v.deleted <= new):
                self.w.add(
                    "crm.visit_record",
                    (v.visit_id, v.user_id, v.customer_id, v.opp_id, v.day, v.vtype, v.summary,
                     v.created, v.created),
                )  # fmt: skip
        for t in lead.truths:
            if t.known_day <= new:
                self.w.add("sim.ground_truth", t.row())
        if lead.order and lead.order[0] <= new:
            order_day, amount, owner = lead.order
            customer = self.customers[slot // 8]
            order = finance.Order(
                f"SO{lead.opp_id:010d}", slot, order_day, customer.customer_id, customer.name,
                lead.opp_code, owner, str(state["product_line_code"]), amount,
            )  # fmt: skip
            self._erp(order)
        return nxt

    @staticmethod
    def _lead_days(lead: Lead) -> Iterator[date]:
        for ev in lead.events:
            yield ev.visible
        for v in lead.visits:
            yield v.visible
            if v.deleted:
                yield v.deleted
        for t in lead.truths:
            yield t.known_day
        if lead.deleted:
            yield lead.deleted
        if lead.order:
            yield lead.order[0]

    def _erp(self, order: finance.Order) -> None:
        o = order
        self.w.add(
            "sim.erp_order",
            (o.order_no, o.slot_id, o.order_date, o.customer_id, o.customer_name, o.opp_code,
             o.owner_id, o.product_line, o.amount),
        )  # fmt: skip
        invoices, collections = finance.receivables(self.seed, order)
        for i in invoices:
            self.w.add(
                "sim.erp_invoice",
                (i.invoice_no, i.slot_id, i.order_no, i.invoice_date, i.due_date, i.customer_id,
                 i.customer_name, i.owner_id, i.amount),
            )  # fmt: skip
        for c in collections:
            self.w.add(
                "sim.erp_collection",
                (c.collection_no, c.slot_id, c.invoice_no, c.collection_date, c.customer_id,
                 c.customer_name, c.owner_id, c.amount),
            )  # fmt: skip

    # -- per-day streams ---------------------------------------------------------------
    def _pick(self, r: random.Random, day: date) -> tuple[str, str, str, str, Decimal]:
        c = self.customers[r.randrange(len(self.customers))]
        line = ref.PRODUCT_LINE[r.choice(c.lines)]
        pos = self.ctx.owner_position(c, line.bu)
        return (
            c.customer_id,
            c.name,
            self.org.user_id(self.org.holder(pos, day)),
            line.code,
            line.median_amount,
        )

    def daily(self) -> None:
        first = (
            self.start
            if self.old is None
            else max(self.start, self.old - timedelta(days=REPORT_RETOUCH_DAYS))
        )
        if self.old is not None:
            self.conn.execute("delete from crm.daily_report where report_date >= %s", (first,))
            self.conn.execute(
                "delete from sim.ground_truth where source_key like 'dr:%%' and day >= %s", (first,)
            )
        rates = self.profile.rates
        days = list(_days(first, self.new))
        for n, day in enumerate(days, start=1):
            reports, truths = activity.daily_reports(
                self.seed, self.org, day, rates["DR01"], rates["DR02"]
            )
            for rep in reports:
                row = rep.row(self.new)
                if row is not None:
                    self.w.add("crm.daily_report", row)
            for t in truths:
                if t.known_day <= self.new:
                    self.w.add("sim.ground_truth", t.row())
            self.progress("daily reports", n, len(days))
        for day in _days(self.first_new_day, self.new):
            for row in activity.general_visits(
                self.seed, day, self.profile.general_visits_per_day, self._pick
            ):
                self.w.add("crm.visit_record", row)
            for order in finance.adhoc_orders(
                self.seed, day, self.profile.adhoc_orders_per_day, self._pick
            ):
                self._erp(order)
            self._weekly(day)
        self.w.flush()

    def _weekly(self, day: date) -> None:
        """Weekly plans are written on their week's first working day."""
        from review_pipeline.simulator.clock import next_working_day

        monday = day - timedelta(days=day.weekday())
        if next_working_day(monday) != day:
            return
        for row in activity.weekly_plans(self.seed, self.org, monday):
            self.w.add("crm.weekly_plan", row)

    def targets_and_plans(self) -> None:
        new = self.new
        years = range(self.start.year, new.year + 1)
        for year in years:
            made = max(date(year, 1, 1), self.start)
            if self.first_new_day <= made <= new:
                for row in targets.year_rows(self.seed, self.org, year, self.start):
                    self.w.add("crm.sales_target", row)
        month = date(self.start.year, 1, 1)
        while month <= new:
            made = targets.created_day(month.year, month.month, self.start)
            leaves = None
            if self.first_new_day <= made <= new:
                for row in targets.month_rows(
                    self.seed, self.org, month.year, month.month, self.start
                ):
                    self.w.add("crm.sales_target", row)
            days = [d for d in targets.statement_days(month) if d >= self.start]
            for i, day in enumerate(days):
                if self.first_new_day <= day <= new:
                    if leaves is None:
                        leaves = targets.month_split(
                            self.seed, self.org, month.year, month.month, self.start
                        )
                    for plan in targets.plan_rows(self.seed, self.org, day, month, leaves, i == 0):
                        self.w.add("crm.monthly_plan", plan)
            month = (month + timedelta(days=32)).replace(day=1)
        self.w.flush()

    # -- files and ground truth ------------------------------------------------------------
    def write_files(self) -> None:
        self.w.flush()
        folder = self.settings.landing_dir / "finance"
        folder.mkdir(parents=True, exist_ok=True)
        rate = self.profile.rates["FILE"]
        days = list(_days(self.first_new_day, self.new))
        for n, day in enumerate(days, start=1):
            truths: list[Truth] = []
            prev = day - timedelta(days=1)
            orders = [finance.Order(r[0], r[1], *r[2:]) for r in self.conn.execute(
                "select order_no, slot_id, order_date, customer_id, customer_name, opp_code, owner_id,"
                " product_line_code, amount from sim.erp_order where order_date in (%s, %s) order by order_no",
                (prev, day))]  # fmt: skip
            invoices = [finance.Invoice(*r) for r in self.conn.execute(
                "select invoice_no, slot_id, order_no, invoice_date, due_date, customer_id, customer_name,"
                " owner_id, amount from sim.erp_invoice where invoice_date in (%s, %s) order by invoice_no",
                (prev, day))]  # fmt: skip
            cols = [finance.Collection(*r) for r in self.conn.execute(
                "select collection_no, slot_id, invoice_no, collection_date, customer_id, customer_name,"
                " owner_id, amount from sim.erp_collection where collection_date in (%s, %s)"
                " order by collection_no",
                (prev, day))]  # fmt: skip
            ymd = f"{day:%Y%m%d}"
            truths += finance.write_orders(
                folder / f"orders_{ymd}.csv", self.seed, rate, day,
                [o for o in orders if o.order_date == day],
                [o for o in orders if o.order_date == prev and self._was_bad("order", o.order_no, prev)],
            )  # fmt: skip
            truths += finance.write_invoices(
                folder / f"invoices_{ymd}.csv", self.seed, rate, day,
                [i for i in invoices if i.invoice_date == day],
                [i for i in invoices if i.invoice_date == prev and self._was_bad("invoice", i.invoice_no, prev)],
            )  # fmt: skip
            truths += finance.write_collections(
                folder / f"collections_{ymd}.xlsx", self.seed, rate, day,
                [c for c in cols if c.collection_date == day],
                [c for c in cols if c.collection_date == prev and self._was_bad("collection", c.collection_no, prev)],
            )  # fmt: skip
            self.files += 3
            if self.old is not None:  # a re-run of the same day replaces its entries
                self.conn.execute(
                    "delete from sim.ground_truth where source_key like %s", (f"file:%{ymd}%",)
                )
            for t in truths:
                self.w.add("sim.ground_truth", t.row())
            self.progress("finance files", n, len(days))
        self.w.flush()

    def _was_bad(self, kind: str, key: str, day: date) -> bool:
        if day < self.start:
            return False
        return finance._bad(self.seed, self.profile.rates["FILE"], kind, key, day) is not None

    def export_truth(self) -> tuple[Path, int]:
        path = self.settings.simulator_dir / "ground_truth.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = self.conn.execute(
            "select rule_id, entity_type, entity_id, day, detail from sim.ground_truth"
            " where known_day <= %s order by day, rule_id, entity_type, entity_id, detail",
            (self.new,),
        ).fetchall()
        tmp = path.with_suffix(".csv.tmp")
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(("rule_id", "entity_type", "entity_id", "day", "detail"))
            for r in rows:
                out.writerow((r[0], r[1], r[2], r[3].isoformat(), r[4]))
        tmp.replace(path)
        return path, len(rows)

    def save_state(self) -> None:
        self.conn.execute("delete from sim.world")
        for key, value in (("params", self.params.to_json()), ("as_of", self.new.isoformat())):
            self.conn.execute(
                "insert into sim.world (world_key, world_value) values (%s, %s)", (key, value)
            )


def _advance(
    conn: psycopg.Connection[Any],
    settings: Settings,
    params: WorldParams,
    old: date | None,
    new: date,
    progress: Progress | None,
) -> Summary:
    run = _Run(conn, settings, params, old, new, progress)
    run.reference_and_org()
    run.slots()
    run.daily()
    run.targets_and_plans()
    run.write_files()
    run.save_state()
    truth_path, truth_rows = run.export_truth()
    counts = {
        name: _count(conn, name)
        for name in (
            "crm.opportunity", "crm.opportunity_history", "crm.visit_record", "crm.daily_report",
            "crm.weekly_plan", "crm.sales_target", "crm.monthly_plan", "crm.customer",
            "crm.sys_user", "crm.user_assignment", "sim.erp_order", "sim.erp_invoice",
            "sim.erp_collection",
        )
    }  # fmt: skip
    return Summary(
        params, params.start, new, old, counts, run.files, truth_rows, truth_path,
        settings.landing_dir / "finance", str(crm_url(settings).render_as_string(hide_password=True)),
    )  # fmt: skip


def _count(conn: psycopg.Connection[Any], name: str) -> int:
    row = conn.execute(sql.SQL("select count(*) from {}").format(table_ident(name))).fetchone()
    return int(row[0]) if row else 0
