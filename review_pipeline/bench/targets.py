"""The targets of issues 3, 5 and 9, judged from a benchmark run.

Each target is ``{"target", "measured", "met", "by", "stage"}``; ``met`` is
None when the run did not measure it (a stage that is not available yet, or a
single profile for the "flat memory" target). Ratios are also written to
``report.ratios`` for the side-by-side table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from review_pipeline.bench.core import BenchReport, StageResult

GB = 1024.0  # MB
SQL_SOURCE = "sim_crm"
PIPELINE_PART = "pipeline (extract -> checks -> build -> marts)"


def _at_most(name: str, value: float | None, limit: float, unit: str, stage: str) -> dict[str, Any]:
    if value is None:
        return {"target": name, "measured": "not measured", "met": None, "by": "", "stage": stage}
    met = value <= limit
    by = (
        f"{limit - value:,.1f} {unit} to spare"
        if met
        else f"{value - limit:,.1f} {unit} over ({value / limit:.1f}x the target)"
    )
    return {
        "target": name,
        "measured": f"{value:,.1f} {unit}",
        "met": met,
        "by": by,
        "stage": stage,
    }


def _at_least(
    name: str, value: float | None, floor: float, fmt: str, stage: str, unit: str = ""
) -> dict[str, Any]:
    if value is None:
        return {"target": name, "measured": "not measured", "met": None, "by": "", "stage": stage}
    met = value >= floor
    shown = format(value, fmt) + unit
    by = (
        f"{value / floor:.2f}x the target"
        if met
        else f"reaches {value / floor:.0%} of the target ({format(floor - value, fmt)}{unit} short)"
    )
    return {"target": name, "measured": shown, "met": met, "by": by, "stage": stage}


def _sql_extract_seconds(
    extract: StageResult | None,
) -> tuple[float | None, int | None, float | None, dict[str, float]]:
    """(end-to-end seconds, rows read, landing seconds, seconds per phase) of the SQL source.

    Landing seconds are wall clock (the time at least one batch was landing:
    entities run side by side), else the per-batch sum of older results.
    """
    if extract is None or not extract.ok:
        return None, None, None, {}
    src = (extract.details.get("sources") or {}).get(SQL_SOURCE)
    if not src:
        return None, None, None, {}
    phases = {k: float(v) for k, v in (src.get("phases") or {}).items()}
    return (
        float(src.get("seconds") or 0) or None,
        int(src.get("rows_read") or 0),
        float(src.get("landing_wall_s") or 0) or phases.get("landing") or None,
        phases,
    )


def compute_targets(report: BenchReport) -> None:
    """Fill ``report.targets`` and ``report.ratios`` from the stage results.

    Bulk load = the landing phase of the SQL source's extraction (source COPY
    into raw, row hash, de-duplication against raw: the work the COPY floor and
    ``to_sql`` also do, landing the same rows); typed staging, delete
    detection and the batch record are reported beside it, and the end-to-end
    extraction figure too.
    """
    extract = report.stage("extract")
    floor = report.stage("copy-floor")
    pandas = report.stage("pandas-to-sql")
    extract_s, extract_rows, landing_s, phases = _sql_extract_seconds(extract)
    targets: list[dict[str, Any]] = []
    ratios: dict[str, Any] = {}

    if extract_s and extract_rows and landing_s:
        others = ", ".join(
            f"{name.replace('_', ' ')} {phases.get(name, 0.0):,.1f} s"
            for name in ("delete_detection", "staging", "batch_record")
        )
        ratios["SQL source extraction (history), end to end"] = (
            f"{extract_rows:,} rows in {extract_s:,.1f} s ({extract_rows / extract_s:,.0f} rows/s),"
            f" entities side by side; summed over batches: landing"
            f" {phases.get('landing', 0.0):,.1f} s, {others}"
        )

    # issue 3: bulk load vs the raw COPY floor
    share = None
    if extract is not None and landing_s and extract_rows and floor is not None and floor.ok:
        assert extract_s is not None
        d = floor.details
        mb = d["bytes"] / 2**20
        share = d["floor_load_s"] / landing_s
        ratios["bulk load (landing into raw, wall clock)"] = (
            f"{extract_rows:,} rows in {landing_s:,.2f} s "
            f"({extract_rows / landing_s:,.0f} rows/s, {mb / landing_s:,.1f} MB/s of COPY text)"
        )
        ratios["raw COPY floor: file -> UNLOGGED text table"] = (
            f"{d['rows']:,} rows, {mb:,.1f} MB in {d['floor_load_s']:,.2f} s "
            f"({d['rows'] / max(d['floor_load_s'], 1e-9):,.0f} rows/s)"
        )
        ratios["source dump: the source's COPY of the same select into a file"] = (
            f"{d['dump_s']:,.2f} s (a landing reads the source too: floor / dump ="
            f" {d['floor_load_s'] / max(d['dump_s'], 1e-9):.0%}, the most any landing can reach)"
        )
        ratios["transport floor: source COPY piped into UNLOGGED table"] = (
            f"{d['floor_stream_s']:,.2f} s; landing = {landing_s / max(d['floor_stream_s'], 1e-9):.2f}x"
            f" of it, end-to-end extraction = {extract_s / max(d['floor_stream_s'], 1e-9):.1f}x"
        )
        ratios["bulk load / raw COPY throughput"] = (
            f"{share:.0%} (end to end: {d['floor_load_s'] / extract_s:.0%})"
        )
        batches = ((extract.details.get("sources") or {}).get(SQL_SOURCE) or {}).get("entities", {})
        rows = []
        for key, f in d["entities"].items():
            entity = key.split(".", 1)[1]
            b = batches.get(entity)
            if b is None:
                continue
            rows.append(
                {
                    "entity": entity,
                    "rows": f["rows"],
                    "bytes": f["bytes"],
                    "extract_s": b["seconds"],
                    "landing_s": (b.get("phases") or {}).get("landing"),
                    "floor_s": f["load_s"],
                }
            )
        report.entities = sorted(rows, key=lambda e: e["extract_s"], reverse=True)
    targets.append(
        _at_least(
            "bulk load >= 60 % of raw COPY throughput (issue 3)", share, 0.60, ".0%", "extract"
        )
    )

    # issue 3: bulk load vs pandas to_sql
    speedup = None
    if extract_s and landing_s and extract_rows and pandas is not None and pandas.ok:
        d = pandas.details
        est = d["estimated_full_s"]
        best = min(est.values())
        speedup = best / landing_s
        note = (
            f"measured on {d['sample_rows']:,} of {d['rows']:,} rows ({d['sample_share']:.1%}),"
            f" extrapolated linearly per entity ({', '.join(d['extrapolated_entities']) or 'none'})"
            if d["extrapolated_entities"]
            else f"measured on all {d['rows']:,} rows"
        )
        ratios["pandas read_sql + to_sql(method=None, chunks of 10,000)"] = (
            f"{est['none']:,.1f} s for all rows ({note})"
        )
        ratios["pandas read_sql + to_sql(method='multi')"] = f"{est['multi']:,.1f} s for all rows"
        ratios["bulk load speed-up over the faster to_sql"] = (
            f"{speedup:.1f}x (end to end: {best / extract_s:.1f}x)"
        )
    targets.append(
        _at_least(
            "bulk load >= 20x faster than pandas to_sql (issue 3)",
            speedup,
            20,
            ".1f",
            "extract",
            "x",
        )
    )

    inc = report.stage("incremental-day")
    pipeline_s = build_s = None
    if inc is not None and inc.ok:
        pipeline_s = inc.parts.get(PIPELINE_PART)
        build_s = inc.parts.get("build")
    targets.append(
        _at_most(
            "one incremental day end to end <= 60 s (issue 9)",
            pipeline_s,
            60,
            "s",
            "incremental-day",
        )
    )
    targets.append(
        _at_most(
            "one incremental day's warehouse build <= 30 s (issue 5)",
            build_s,
            30,
            "s",
            "incremental-day",
        )
    )

    scan = report.stage("checks-vs-scan")
    ratio = None
    if scan is not None and scan.ok and scan.details.get("available"):
        ratio = float(scan.details["ratio"])
        ratios["checks for a day / one single-pass scan"] = (
            f"{scan.details['checks_seconds']:.2f} s / {scan.details['scan_seconds']:.2f} s = {ratio:.2f}x"
        )
    targets.append(
        _at_most("all checks for a day <= 2x a single-pass scan", ratio, 2, "x", "checks-vs-scan")
    )

    packs = report.stage("packs")
    packs_s = (
        packs.seconds if packs is not None and packs.ok and packs.details.get("available") else None
    )
    targets.append(
        _at_most("every manager's weekly pack built and queued <= 60 s", packs_s, 60, "s", "packs")
    )

    backfill = report.stage("warehouse-backfill")
    targets.append(
        _at_most(
            "initial warehouse build in minutes, not hours (<= 60 min) (issue 5)",
            backfill.seconds / 60 if backfill is not None and backfill.ok else None,
            60,
            "min",
            "warehouse-backfill",
        )
    )

    measured = [s for s in report.stages if s.peak_rss_mb > 0]
    peak = max(measured, key=lambda s: s.peak_rss_mb) if measured else None
    row = _at_most(
        "peak RSS <= 1 GB", peak.peak_rss_mb if peak else None, GB, "MB", peak.stage if peak else ""
    )
    if peak is not None:
        row["measured"] += f" ({peak.stage})"
    targets.append(row)
    report.targets = targets
    report.ratios = ratios


def memory_rows(report: BenchReport, out_dir: Path) -> list[dict[str, Any]]:
    """Peak RSS per stage of this run and the latest run of every other profile in ``out_dir``.

    Also adds the "flat memory" target: the largest peak of the biggest world
    against the smallest world's, with the ratio of history rows between them.
    """
    rows = [_memory_row(report.as_dict())]
    for path in sorted(out_dir.glob("latest-*.json")):
        if path.name == f"latest-{report.profile}.json":
            continue
        try:
            rows.append(_memory_row(json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, KeyError):
            continue
    rows = [r for r in rows if r["rows"]]
    rows.sort(key=lambda r: r["rows"])
    if len(rows) >= 2:
        small, big = rows[0], rows[-1]
        growth = big["rows"] / small["rows"]
        ratio = big["max_mb"] / small["max_mb"] if small["max_mb"] else None
        met = ratio is not None and ratio <= 2
        report.targets.append(
            {
                "target": "peak RSS flat as the data grows (<= 2x when rows grow 10x)",
                "measured": (
                    f"{small['profile']} {small['max_mb']:,.0f} MB -> {big['profile']} "
                    f"{big['max_mb']:,.0f} MB ({ratio:.2f}x) for {growth:.1f}x the rows"
                ),
                "met": met,
                "by": "" if met else f"grows {ratio:.2f}x",
                "stage": "",
            }
        )
    else:
        report.targets.append(
            {
                "target": "peak RSS flat as the data grows (<= 2x when rows grow 10x)",
                "measured": "one profile only: run another profile into the same folder",
                "met": None,
                "by": "",
                "stage": "",
            }
        )
    return rows


def _memory_row(data: dict[str, Any]) -> dict[str, Any]:
    peaks = {s["stage"]: s["peak_rss_mb"] for s in data["stages"] if s["peak_rss_mb"] > 0}
    extract = next((s for s in data["stages"] if s["stage"] == "extract"), None)
    return {
        "profile": data["profile"],
        "started_at": data["started_at"],
        "rows": (extract or {}).get("rows") or 0,
        "peak_rss_mb": peaks,
        "max_mb": max(peaks.values(), default=0.0),
    }


def attach_profiles(report: BenchReport, work_dir: Path) -> None:
    """Quote the profile of every stage behind a missed target."""
    for target in report.targets:
        stage = target.get("stage")
        if target["met"] is False and stage and stage not in report.profiles:
            path = work_dir / f"{stage}.profile.txt"
            if path.is_file():
                report.profiles[stage] = path.read_text(encoding="utf-8")
