"""Great Expectations: one file context under REVIEW_HOME, validation in PostgreSQL.

The context lives in ``$REVIEW_HOME/gx`` (working files and Data Docs, not the
repository); the suites are loaded from ``expectations/`` on every run. The
data source is a GX SQL data source whose connection string is the
``${REVIEW_GX_WAREHOUSE_URL}`` config variable (a literal socket URL is
rejected by GX), so every expectation runs as SQL inside PostgreSQL.
The batch is the findings table and every query keeps the window being
checked (the rules themselves ran once, in SQL, before; GX validates what
they found).
Creating a context costs seconds: it is made once per process and root.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review_pipeline.quality.suites import Suite, suite_for_gx

log = logging.getLogger(__name__)

URL_ENV = "REVIEW_GX_WAREHOUSE_URL"
DATASOURCE = "warehouse"
SAMPLE_ROWS = 5

_CONTEXTS: dict[str, Any] = {}


@dataclass
class ExpectationOutcome:
    """GX's verdict on one expectation: a rule (rule_id set) or an integrity check."""

    suite: str
    index: int
    rule_id: str | None
    severity: str | None
    label: str
    success: bool
    unexpected_count: int
    sample: list[Any] = field(default_factory=list)

    @property
    def is_integrity(self) -> bool:
        return self.rule_id is None


@dataclass
class ValidationOutcome:
    success: bool
    expectations: list[ExpectationOutcome]
    data_docs: str | None

    @property
    def integrity_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.expectations if o.is_integrity and not o.success]


def gx_root(home: Path) -> Path:
    return home / "gx"


def get_context(home: Path) -> Any:
    """The file context under ``home``/gx, created once per process, progress bars off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    root = str(gx_root(home))
    context = _CONTEXTS.get(root)
    if context is not None:
        return context
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    home.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(home))
    # progress bars go to stderr even without a TTY and TQDM_DISABLE does not stop them
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.variables.save()
    _quiet_gx_loggers()
    _CONTEXTS[root] = context
    return context


def _quiet_gx_loggers() -> None:
    # some GX modules log at INFO under their file path, outside the package's logger tree
    if log.isEnabledFor(logging.DEBUG):
        return
    for name in list(logging.root.manager.loggerDict):
        if "great_expectations" in name:
            logging.getLogger(name).setLevel(logging.WARNING)


def prune_results(home: Path, keep: int) -> int:
    """Keep the newest ``keep`` stored validation runs per suite (Data Docs index them all,
    so an unbounded store makes every rebuild slower). Returns how many runs were removed."""
    import shutil

    removed = 0
    root = home / "gx" / "uncommitted" / "validations"
    if not root.is_dir():
        return 0
    for suite_dir in root.iterdir():
        if not suite_dir.is_dir():
            continue
        runs = sorted(
            (d for d in suite_dir.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime
        )
        for old in runs[: max(0, len(runs) - keep)]:
            shutil.rmtree(old, ignore_errors=True)
            removed += 1
    return removed


def _drop_stale_objects(home: Path, keep: set[str]) -> list[str]:
    """Remove the stored checkpoint and validation definitions, and suites not in ``keep``.

    Every run re-adds what it uses; a checkpoint or validation definition stored
    by an earlier release can name assets that no longer exist, and GX then
    refuses to load (or replace) it.
    """
    removed = []
    root = gx_root(home)
    for folder in ("checkpoints", "validation_definitions", "expectations"):
        for path in sorted((root / folder).glob("*.json")):
            if folder != "expectations" or path.stem not in keep:
                path.unlink(missing_ok=True)
                removed.append(f"{folder}/{path.name}")
    return removed


def _exception_message(info: Any) -> str | None:
    """The first raised exception's message in GX's exception_info (flat or per metric)."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return str(info.get("exception_message")) if info.get("raised_exception") else None
    for value in info.values():
        message = _exception_message(value)
        if message:
            return message
    return None


def validate(
    home: Path, url: str, suites: list[Suite], run_name: str, *, data_docs: bool = True
) -> ValidationOutcome:
    """Validate the window's findings with every suite through one checkpoint.

    A rule expectation's count is the number of findings of the rule (and
    severity); an integrity expectation's count is the number of findings
    breaking it. Data Docs are rebuilt when ``data_docs`` is set.
    """
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    context = get_context(home)
    _drop_stale_objects(home, {suite.name for suite in suites})
    os.environ[URL_ENV] = url
    with warnings.catch_warnings():
        # "a more specific PostgresDatasource may be more appropriate": it rejects socket URLs
        warnings.simplefilter("ignore")
        source = context.data_sources.add_or_update_sql(
            name=DATASOURCE, connection_string="${" + URL_ENV + "}"
        )
    definitions = []
    by_name: dict[str, Suite] = {}
    for suite in suites:
        asset = source.add_table_asset(
            name=suite.asset_name, table_name=suite.table_name, schema_name=suite.schema_name
        )
        batch = asset.add_batch_definition_whole_table("all")
        spec = suite_for_gx(suite)
        gx_suite = context.suites.add_or_update(
            gx.ExpectationSuite(
                name=spec["name"], expectations=spec["expectations"], meta=spec["meta"]
            )
        )
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
            )
        )
        by_name[suite.name] = suite
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name="review_checks",
            validation_definitions=definitions,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")]
            if data_docs
            else [],
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": SAMPLE_ROWS},
        )
    )
    result = checkpoint.run(run_id=RunIdentifier(run_name=run_name))
    outcomes: list[ExpectationOutcome] = []
    for suite_result in result.run_results.values():
        suite = by_name[suite_result.suite_name]
        rules = {e.index: e for e in suite.expectations}
        checks = {c.index: c for c in suite.integrity}
        for item in suite_result.results:
            meta = item.expectation_config.meta or {}
            index = int(meta["index"])
            res = item.result or {}
            if "observed_value" in res:  # unexpected_rows_expectation
                count = int(res.get("observed_value") or 0)
                sample = list((res.get("details") or {}).get("unexpected_rows") or [])
            else:
                count = int(res.get("unexpected_count") or 0)
                sample = list(res.get("partial_unexpected_list") or [])
            rule = rules.get(index)
            label = rule.label if rule else checks[index].label
            problem = _exception_message(item.exception_info)
            if problem:
                raise RuntimeError(f"GX could not evaluate {label}: {problem}")
            outcomes.append(
                ExpectationOutcome(
                    suite=suite.name,
                    index=index,
                    rule_id=rule.rule_id if rule else None,
                    severity=rule.severity if rule else None,
                    label=label,
                    success=bool(item.success),
                    unexpected_count=count,
                    sample=[str(x) for x in sample[:SAMPLE_ROWS]],
                )
            )
    docs = None
    try:
        if not data_docs:
            raise LookupError("data docs off")
        sites = context.get_docs_sites_urls()
        docs = sites[0].get("site_url") if sites else None
    except Exception:  # noqa: BLE001 - docs location is informational
        log.debug("could not read the Data Docs location", exc_info=True)
    return ValidationOutcome(success=bool(result.success), expectations=outcomes, data_docs=docs)
