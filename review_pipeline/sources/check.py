"""``sources check``: is each mapping valid and each source reachable, and what is there?"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from review_pipeline.settings import Settings
from review_pipeline.sources.mapping import SourceMapping


@dataclass
class SourceReport:
    source: str
    kind: str
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.ok = False
        self.lines.append(f"[red]✗[/] {line}")

    def good(self, line: str) -> None:
        self.lines.append(f"[green]✓[/] {line}")

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "ok": self.ok, "lines": self.lines}


def _check_sql(settings: Settings, mapping: SourceMapping, report: SourceReport) -> None:
    import psycopg
    from psycopg import sql

    from review_pipeline.db import crm_url, libpq_dsn, redacted
    from review_pipeline.sources.crm import _query_text, to_psycopg_params

    url = crm_url(settings)
    try:
        conn = psycopg.connect(
            libpq_dsn(url), connect_timeout=5, options="-c default_transaction_read_only=on"
        )
    except Exception as exc:  # noqa: BLE001 - report any connection failure
        report.fail(f"cannot connect to {redacted(url)}: {exc}")
        return
    report.good(f"connected to {redacted(url)}")
    epoch = datetime(1900, 1, 1, tzinfo=ZoneInfo("UTC"))
    with conn:
        for entity, ent_map in mapping.entities.items():
            if ent_map.table is None:
                continue
            try:
                query = sql.SQL(to_psycopg_params(_query_text(mapping, entity)))  # type: ignore[arg-type]
                count = conn.execute(
                    sql.SQL("select count(*) from ({}) as q").format(query), {"window_start": epoch}
                ).fetchone()
                report.good(f"{entity}: {count[0] if count else 0:,} rows")
            except Exception as exc:  # noqa: BLE001 - name the entity and go on
                conn.rollback()
                report.fail(f"{entity}: {str(exc).splitlines()[0]}")


def _check_files(settings: Settings, mapping: SourceMapping, report: SourceReport) -> None:
    from review_pipeline.sources.files import discover_files

    landing = settings.landing_dir / mapping.landing_folder
    if not landing.is_dir():
        report.good(f"landing folder {landing} does not exist yet (created on first drop)")
        return
    report.good(f"landing folder {landing}")
    for entity in mapping.entities:
        names, refused = discover_files(mapping, entity, landing)
        report.good(f"{entity}: {len(names)} file(s) waiting")
        for _name, why in refused:
            report.fail(why)


def check_source(settings: Settings, mapping: SourceMapping) -> SourceReport:
    """Validate one (already loaded, so already valid) mapping's source."""
    report = SourceReport(mapping.source, mapping.kind)
    report.good(f"mapping {mapping.path} is valid ({len(mapping.entities)} entities)")
    if mapping.kind == "sql":
        _check_sql(settings, mapping, report)
    else:
        _check_files(settings, mapping, report)
    return report
