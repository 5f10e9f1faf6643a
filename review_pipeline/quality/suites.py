"""The rule catalogue: the suite file under ``expectations/`` and rule SQL under ``sql/quality``.

Each rule is evaluated ONCE, set-based, by the SQL file its expectation names
in ``meta.sql_file`` (one scan per entity table: ``rules/lead_day_rules.sql``
holds every rule on a lead's state of the day, ``rules/lead_history_rules.sql``
every rule on its change history); the file is a plain select of finding rows
that the run inserts into ``dq.finding``.

Great Expectations then validates those findings: the suite's batch is the
findings of the checked window. A rule expectation is an
``unexpected_rows_expectation`` whose query (generated here from
``meta.rule_id`` / ``meta.severity``) selects that rule's findings, so the
rule fails in GX exactly when it has hits, with their count and a sample in
Data Docs; integrity expectations (``meta.check = "integrity"``) validate the
findings themselves and must pass.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from review_pipeline.db import read_sql, split_statements, sql_dir
from review_pipeline.errors import ConfigError

SUITE_NAMES = ("rule_findings",)
_RULE_ID = re.compile(r"^[A-Z]{2}[0-9]{2}$")

# DOMAIN.md, "Lead authenticity and reporting checks"
RULES: dict[str, tuple[str, str]] = {
    "LQ01": ("error", "required fields present"),
    "LQ02": ("error/warn", "amount > 0 (error) and not above 10 x the product line's p99 (warn)"),
    "LQ03": ("error", "stage and status valid after mapping"),
    "LQ04": ("warn", "stage skipped two or more steps in one change, or went backwards"),
    "LQ05": ("warn", "open lead with an expected order date in the past"),
    "LQ06": ("warn", "S3+ open lead with no visit in the last 30 days"),
    "LQ07": (
        "warn",
        "probable duplicate: customer, product line, amount within 10 %, open at once",
    ),
    "LQ08": ("warn", "named customer with missing tier, industry or city, or invalid credit code"),
    "LQ09": ("warn", "S4+ lead without tender date, bid price or competitors"),
    "LQ10": ("warn", "ORDERED with no finance order within 30 days, or amount off by > 20 %"),
    "LQ11": ("warn", "created and at S4+ within 3 days (likely back-filled)"),
    "LQ12": ("error", "owner not an active employee on that day"),
    "LQ13": ("error", "timestamps impossible: updated before created, or in the future"),
    "DR01": ("warn", "daily report missing for a working day, or submitted after that day"),
    "DR02": ("warn", "daily report not approved within 1 working day"),
}


@dataclass(frozen=True)
class RuleExpectation:
    """One rule expectation of a suite: the rule, its severity and the SQL file evaluating it."""

    suite: str
    index: int
    type: str
    kwargs: dict[str, Any]
    rule_id: str
    severity: str
    sql_file: str | None  # the file evaluating the rule (checked to exist on load)
    description: str = ""

    @property
    def label(self) -> str:
        return f"{self.rule_id} {self.severity}"


@dataclass(frozen=True)
class IntegrityExpectation:
    """An expectation on the findings themselves (must always pass)."""

    suite: str
    index: int
    type: str
    kwargs: dict[str, Any]
    description: str
    generated: str | None = None  # "severity_per_rule": the query is built from the suite

    @property
    def label(self) -> str:
        column = self.kwargs.get("column") or ",".join(self.kwargs.get("column_list") or [])
        return f"{self.type}({column})" if column else self.type


@dataclass(frozen=True)
class Suite:
    name: str
    table: str  # schema.table whose rows the suite validates (the findings)
    expectations: tuple[RuleExpectation, ...]
    raw: dict[str, Any]
    integrity: tuple[IntegrityExpectation, ...] = ()

    @property
    def schema_name(self) -> str:
        return self.table.split(".", 1)[0]

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1]

    @property
    def asset_name(self) -> str:
        return str(self.raw.get("meta", {}).get("asset") or self.name)

    def rule_files(self) -> list[str]:
        """The SQL files evaluating the suite's rules, each once, in suite order."""
        return list(dict.fromkeys(e.sql_file for e in self.expectations if e.sql_file))


def expectations_dir() -> Path:
    """The repository's ``expectations/`` folder (override with ``REVIEW_EXPECTATIONS_DIR``)."""
    override = os.environ.get("REVIEW_EXPECTATIONS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent.parent / "expectations"


@lru_cache(maxsize=64)
def _statements(relative: str, mtime: float) -> tuple[str, ...]:
    return tuple(split_statements(read_sql(relative)))


def run_quality_sql(conn: Connection, relative: str, params: dict[str, Any]) -> None:
    """Like :func:`review_pipeline.db.run_sql_file`, with the statement split cached per process."""
    mtime = (sql_dir() / relative).stat().st_mtime
    for statement in _statements(relative, mtime):
        clause = sa.text(statement)
        conn.execute(clause, {k: v for k, v in params.items() if k in clause._bindparams})


def rule_sql(relative: str) -> str:
    """The text of a rule SQL file under ``sql/quality`` without its trailing semicolon."""
    return read_sql(f"quality/{relative}").strip().rstrip(";").strip()


def load_suite(name: str) -> Suite:
    """Read and check ``expectations/<name>.json`` (rule ids, severities, SQL files)."""
    path = expectations_dir() / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"expectation suite {path} is missing")
    raw = json.loads(path.read_text(encoding="utf-8"))
    table = raw.get("meta", {}).get("table")
    if not table or "." not in table:
        raise ConfigError(f"suite {name}: meta.table (schema.table) is required")
    items: list[RuleExpectation] = []
    checks: list[IntegrityExpectation] = []
    for i, exp in enumerate(raw["expectations"]):
        meta = exp.get("meta", {})
        where = f"suite {name}, expectation {i}"
        if meta.get("check") == "integrity":
            checks.append(
                IntegrityExpectation(
                    suite=name,
                    index=i,
                    type=exp["type"],
                    kwargs=dict(exp.get("kwargs", {})),
                    description=str(exp.get("description") or ""),
                    generated=meta.get("generated"),
                )
            )
            continue
        rule_id = meta.get("rule_id")
        if rule_id not in RULES or not _RULE_ID.match(str(rule_id)):
            raise ConfigError(f"{where}: unknown rule_id {rule_id!r}")
        severity = meta.get("severity")
        if severity not in ("error", "warn"):
            raise ConfigError(f"{where}: severity must be error or warn")
        sql_file = meta.get("sql_file")
        if not sql_file or not (sql_dir() / "quality" / sql_file).is_file():
            raise ConfigError(f"{where} ({rule_id}): meta.sql_file {sql_file!r} is not a file")
        if exp["type"] != "unexpected_rows_expectation":
            raise ConfigError(f"{where} ({rule_id}): a rule is an unexpected_rows_expectation")
        items.append(
            RuleExpectation(
                suite=name,
                index=i,
                type=exp["type"],
                kwargs=dict(exp.get("kwargs", {})),
                rule_id=rule_id,
                severity=severity,
                sql_file=sql_file,
                description=str(exp.get("description") or ""),
            )
        )
    return Suite(
        name=name, table=table, expectations=tuple(items), raw=raw, integrity=tuple(checks)
    )


def load_suites() -> list[Suite]:
    """Every suite of :data:`SUITE_NAMES`, checked."""
    return [load_suite(name) for name in SUITE_NAMES]


_IN_WINDOW = (
    "{batch} as b inner join dq.check_window as w"
    " on b.business_date between w.start_date and w.end_date"
)


def gx_query(suite: Suite, expectation: RuleExpectation) -> str:
    """GX's query for a rule: its findings in the checked window, newest first."""
    # rule id and severity were checked against the catalogue when the suite was loaded
    return (
        "select b.business_date, b.entity_type, b.entity_id, b.owner_id, b.details"
        f" from {_IN_WINDOW} where b.rule_id = '{expectation.rule_id}'"
        f" and b.severity = '{expectation.severity}'"
        " order by b.business_date desc, b.entity_id"
    )


def severity_query(suite: Suite) -> str:
    """GX's query for findings whose (rule, severity) is not a rule expectation of the suite."""
    pairs = sorted({(e.rule_id, e.severity) for e in suite.expectations})
    values = ", ".join(f"('{r}', '{s}')" for r, s in pairs)
    return f"select b.* from {_IN_WINDOW} where (b.rule_id, b.severity) not in ({values})"


def suite_for_gx(suite: Suite) -> dict[str, Any]:
    """The suite as GX reads it: rule queries generated, GX severities set, indexes in meta."""
    expectations: list[dict[str, Any]] = []
    for exp in suite.expectations:
        expectations.append(
            {
                "type": exp.type,
                "kwargs": {**exp.kwargs, "unexpected_rows_query": gx_query(suite, exp)},
                "description": exp.description or None,
                "severity": "critical" if exp.severity == "error" else "warning",
                "meta": {
                    "rule_id": exp.rule_id,
                    "severity": exp.severity,
                    "sql_file": exp.sql_file,
                    "index": exp.index,
                },
            }
        )
    for check in suite.integrity:
        kwargs = dict(check.kwargs)
        if check.generated == "severity_per_rule":
            kwargs["unexpected_rows_query"] = severity_query(suite)
        expectations.append(
            {
                "type": check.type,
                "kwargs": kwargs,
                "description": check.description or None,
                "meta": {"check": "integrity", "index": check.index},
            }
        )
    return {"name": suite.name, "expectations": expectations, "meta": suite.raw.get("meta", {})}
