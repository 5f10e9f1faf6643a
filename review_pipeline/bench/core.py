"""The benchmark's measurement, plan and report.

Each stage runs as its own subprocess (``python -m review_pipeline.bench.stages``,
the way an Airflow task runs one stage function), sampled every 100 ms for the
resident memory of its whole process tree, so one stage's memory never hides
another's. A stage writes what it did (rows, per-part seconds, details) to a
small JSON file the parent reads back.

The warehouse side runs on its own database (``<warehouse database>_bench``,
dropped and recreated by the ``prepare`` stage), so a benchmark never touches
the warehouse a user reviews from; the simulated CRM world is reused when one
for the profile and seed exists.

Results go to ``<out>/<profile>-<timestamp>.json`` and ``.md`` plus
``latest-<profile>.json`` / ``.md``; a ``latest-*.json`` of another profile in
the same folder feeds the "memory as the data grows" comparison.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

# The as-of day a generated benchmark world ends on (the simulator's default end).
BENCH_END = date(2026, 11, 22)
DEFAULT_SEED = 7
DEFAULT_SAMPLE_ROWS = 20_000


@dataclass
class StageResult:
    """One measured stage: wall time and peak RSS from outside, the rest from the stage."""

    stage: str
    command: list[str]
    seconds: float
    peak_rss_mb: float
    rows: int | None = None
    ok: bool = True
    note: str = ""
    parts: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float | None:
        if not self.rows or self.seconds <= 0:
            return None
        return self.rows / self.seconds


@dataclass
class BenchReport:
    profile: str
    started_at: str
    machine: dict[str, Any]
    stages: list[StageResult] = field(default_factory=list)
    ratios: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)
    memory: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    def stage(self, name: str) -> StageResult | None:
        return next((s for s in self.stages if s.stage == name), None)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for stage, obj in zip(data["stages"], self.stages, strict=True):
            stage["rows_per_second"] = obj.rows_per_second
        return data

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False, default=str)

    def as_markdown(self) -> str:
        m = self.machine
        lines = [
            f"### Benchmark: profile `{self.profile}` ({self.started_at})",
            "",
            f"Machine: {m['cpus']} CPUs, {m['memory_gb']} GB RAM, {m['platform']}, "
            f"Python {m['python']}, PostgreSQL {m.get('postgres', '?')}; "
            f"load average {_load_text(m)}.",
        ]
        if self.plan:
            p = self.plan
            lines += [
                "",
                f"World: profile `{self.profile}`, seed {p.get('seed')}, history "
                f"{p.get('start')} .. {p.get('end')} ({p.get('days')} days); incremental day "
                f"{p.get('day')}; weekly review date {p.get('review_date')}; history checks from "
                f"{p.get('checks_start', p.get('start'))}.",
            ]
        lines += [
            "",
            "| stage | wall time | rows | rows/s | peak RSS | note |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for s in self.stages:
            rps = f"{s.rows_per_second:,.0f}" if s.rows_per_second else ""
            rows = f"{s.rows:,}" if s.rows else ""
            status = "" if s.ok else "**failed** "
            lines.append(
                f"| {s.stage} | {s.seconds:,.1f} s | {rows} | {rps} | {s.peak_rss_mb:,.0f} MB "
                f"| {status}{s.note} |"
            )
        parted = [s for s in self.stages if s.parts]
        for s in parted:
            lines += ["", f"`{s.stage}` by part (seconds inside the stage process):", ""]
            lines += ["| part | seconds |", "|---|---:|"]
            lines += [f"| {k} | {v:,.2f} |" for k, v in s.parts.items()]
        if self.ratios:
            lines += ["", "Side by side (same rows, same machine, same run):", ""]
            lines += ["| comparison | figure |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in self.ratios.items()]
        if self.entities:
            lines += [
                "",
                "SQL source, per entity: the extraction's batch against the raw COPY of its bytes"
                " (slowest first):",
                "",
                "| entity | rows | MB | extraction | COPY floor | floor / extraction |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for e in self.entities:
                share = e["floor_s"] / e["extract_s"] if e["extract_s"] else 0.0
                lines.append(
                    f"| {e['entity']} | {e['rows']:,} | {e['bytes'] / 2**20:,.1f} "
                    f"| {e['extract_s']:,.2f} s | {e['floor_s']:,.2f} s | {share:.0%} |"
                )
        if self.targets:
            lines += [
                "",
                "| target | measured | pass/miss | by how much |",
                "|---|---|---|---|",
            ]
            for t in self.targets:
                verdict = {True: "pass", False: "**miss**", None: "not measured"}[t["met"]]
                lines.append(f"| {t['target']} | {t['measured']} | {verdict} | {t.get('by', '')} |")
        if self.memory:
            lines += ["", "Peak RSS per stage as the data grows (latest run of each profile):", ""]
            profiles = [row["profile"] for row in self.memory]
            lines.append("| stage | " + " | ".join(profiles) + " |")
            lines.append("|---|" + "---:|" * len(profiles))
            stages: list[str] = []
            for row in self.memory:
                stages += [n for n in row["peak_rss_mb"] if n not in stages]
            for name in stages:
                cells = [
                    f"{row['peak_rss_mb'][name]:,.0f} MB" if name in row["peak_rss_mb"] else ""
                    for row in self.memory
                ]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append(
                "| rows extracted (history) | "
                + " | ".join(f"{row.get('rows') or 0:,}" for row in self.memory)
                + " |"
            )
        for stage, text in self.profiles.items():
            lines += [
                "",
                f"Where the time goes in `{stage}` (target missed):",
                "",
                "```",
                text.rstrip(),
                "```",
            ]
        return "\n".join(lines) + "\n"


def _load_text(machine: dict[str, Any]) -> str:
    start, end = machine.get("load_start"), machine.get("load_end")
    if start is None:
        return "?"
    return f"{start:.1f} at start, {end:.1f} at end" if end is not None else f"{start:.1f}"


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "load_start": os.getloadavg()[0],
    }


def measure(
    stage: str,
    command: Sequence[str],
    env: dict[str, str] | None = None,
    result_file: Path | None = None,
    *,
    sample_to: Path | None = None,
    py_spy: str | None = None,
) -> StageResult:
    """Run ``command``; return its wall time and the peak RSS of its whole process tree.

    The command's output goes to a temporary file (a pipe could fill and stall
    it); its last line becomes the note of a failed stage. When ``result_file``
    is given, the JSON the stage wrote there fills rows, parts and details.
    With ``sample_to`` and ``py_spy``, py-spy attaches to the running command
    from outside (not part of its process tree, so not of its memory) and
    writes its raw samples there.
    """
    from review_pipeline.bench.profiling import sample_command

    started = time.perf_counter()
    peak = 0
    sampler: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        proc = subprocess.Popen(
            list(command), env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        ps = psutil.Process(proc.pid)
        if sample_to is not None and py_spy is not None:
            sampler = subprocess.Popen(
                sample_command(py_spy, proc.pid, sample_to),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            while proc.poll() is None:
                try:
                    rss = ps.memory_info().rss + sum(
                        c.memory_info().rss for c in ps.children(recursive=True)
                    )
                    peak = max(peak, rss)
                except psutil.Error:
                    pass
                time.sleep(0.1)
        finally:
            # never leave a stage running behind an interrupted benchmark: a second run
            # would otherwise race it on the same database
            if proc.poll() is None:
                for child in ps.children(recursive=True):
                    child.kill()
                proc.kill()
                proc.wait()
            seconds = time.perf_counter() - started
            if sampler is not None:  # py-spy writes its file once it sees the process gone
                try:
                    sampler.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    sampler.kill()
                    sampler.wait()
        log.seek(0)
        text = log.read()
    lines = text.strip().splitlines()
    note = "" if proc.returncode == 0 else (lines[-1][:200] if lines else "failed")
    result = StageResult(
        stage, list(command), seconds, peak / 2**20, ok=proc.returncode == 0, note=note
    )
    if result_file is not None and result_file.is_file() and result_file.stat().st_size:
        data = json.loads(result_file.read_text(encoding="utf-8"))
        result.rows = data.get("rows")
        result.parts = {k: round(float(v), 3) for k, v in (data.get("parts") or {}).items()}
        result.details = data.get("details") or {}
        if data.get("note"):
            result.note = f"{data['note']}; {result.note}" if result.note else data["note"]
    return result


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "review_pipeline", *args]


def stage_command(name: str, plan: dict[str, Any], work_dir: Path) -> list[str]:
    """The subprocess that runs one benchmark stage (see :mod:`review_pipeline.bench.stages`)."""
    command = [sys.executable, "-m", "review_pipeline.bench.stages", name]
    for key in (
        "profile",
        "seed",
        "start",
        "end",
        "day",
        "review_date",
        "sample_rows",
        "checks_start",
    ):
        if plan.get(key) is not None:
            command += [f"--{key.replace('_', '-')}", str(plan[key])]
    command += ["--work-dir", str(work_dir)]
    return command


# Stage order. The floor and pandas comparisons run right after the history
# extraction, before the world grows by the incremental day, so they read the
# very rows (and bytes) the extraction read.
STAGE_ORDER = (
    "prepare",
    "extract",
    "copy-floor",
    "pandas-to-sql",
    "checks",
    "warehouse-backfill",
    "incremental-day",
    "reports",
    "packs",
    "checks-vs-scan",
)


def default_stages(plan: dict[str, Any], work_dir: Path) -> list[tuple[str, list[str]]]:
    """Every stage after generation, in order, as (name, command)."""
    return [(name, stage_command(name, plan, work_dir)) for name in STAGE_ORDER]


def run_benchmark(
    profile: str,
    out_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    reuse: bool = True,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    checks_days: int | None = None,
    only: Sequence[str] | None = None,
    on_stage: Callable[[StageResult], None] | None = None,
) -> BenchReport:
    """Generate (or reuse) the world, run every stage in order, write the JSON and Markdown."""
    from review_pipeline.bench.targets import attach_profiles, compute_targets, memory_rows

    report = BenchReport(profile, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), machine_info())
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{profile}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    work_dir = out_dir / f"{stem}-work"
    work_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)

    state = _world(profile, seed) if reuse else None
    if reuse and state is None:
        _refuse_to_replace(profile, seed)
    if state is not None:
        result = StageResult(
            "generate", [], 0.0, 0.0, note=f"reused (world {state[0]} .. {state[1]} exists)"
        )
        result.details = {"reused": True}
    else:
        plan0 = {"profile": profile, "seed": seed}
        result = _run(
            "generate", stage_command("generate", plan0, work_dir), env, work_dir, on_stage
        )
        state = _world(profile, seed) if result.ok else None
    if result.stage not in [s.stage for s in report.stages]:
        report.stages.append(result)
        if on_stage and result.details.get("reused"):
            on_stage(result)

    if state is not None:
        start, end = state
        day = end + timedelta(days=1)
        review_date = day - timedelta(days=day.isoweekday() % 7)  # the Sunday on or before
        report.plan = {
            "profile": profile,
            "seed": seed,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days": (end - start).days + 1,
            "day": day.isoformat(),
            "review_date": review_date.isoformat(),
            "sample_rows": sample_rows,
            # the history checks cover every day, or only the last `checks_days`
            "checks_start": max(start, end - timedelta(days=checks_days - 1)).isoformat()
            if checks_days
            else start.isoformat(),
        }
        env["REVIEW_WAREHOUSE_URL"] = bench_warehouse_url()
        for name, command in default_stages(report.plan, work_dir):
            if only and name not in only and name != "prepare":
                continue
            result = _run(name, command, env, work_dir, on_stage)
            report.stages.append(result)
            if name == "prepare" and result.details.get("postgres"):
                report.machine["postgres"] = result.details["postgres"]
            if not result.ok and name in ("prepare", "extract"):
                break
    report.machine["load_end"] = os.getloadavg()[0]
    compute_targets(report)
    attach_profiles(report, work_dir)
    report.memory = memory_rows(report, out_dir)
    (out_dir / f"{stem}.json").write_text(report.as_json(), encoding="utf-8")
    (out_dir / f"{stem}.md").write_text(report.as_markdown(), encoding="utf-8")
    (out_dir / f"latest-{profile}.json").write_text(report.as_json(), encoding="utf-8")
    (out_dir / f"latest-{profile}.md").write_text(report.as_markdown(), encoding="utf-8")
    return report


def _run(
    name: str,
    command: list[str],
    env: dict[str, str],
    work_dir: Path,
    on_stage: Callable[[StageResult], None] | None,
) -> StageResult:
    """Run one stage, timed without any profiler inside it; py-spy samples it from outside.

    The stage keeps its client-side statement log (``--no-sampler``); when py-spy
    is installed and may attach, its samples head ``<stage>.profile.txt``.
    """
    from review_pipeline.bench.profiling import py_spy_binary, summarise_samples

    result_file = work_dir / f"{name}.json"
    result_file.unlink(missing_ok=True)
    raw = work_dir / f"{name}.pyspy.raw"
    raw.unlink(missing_ok=True)
    spy = py_spy_binary()
    result = measure(
        name,
        [*command, "--no-sampler", "--result", str(result_file)],
        env,
        result_file,
        sample_to=raw if spy else None,
        py_spy=spy,
    )
    profile = work_dir / f"{name}.profile.txt"
    if raw.is_file():
        summary = summarise_samples(raw.read_text(encoding="utf-8", errors="replace"), name)
        rest = profile.read_text(encoding="utf-8") if profile.is_file() else ""
        profile.write_text(f"{summary}\n\n{rest}", encoding="utf-8")
    elif spy is None and profile.is_file():
        rest = profile.read_text(encoding="utf-8")
        profile.write_text(
            "no sampled profile: py-spy is not installed (pip install py-spy)\n\n" + rest,
            encoding="utf-8",
        )
    if on_stage:
        on_stage(result)
    return result


def _world(profile: str, seed: int) -> tuple[date, date] | None:
    """(first day, as-of day) of the simulated world when it is the profile's, with this seed."""
    from review_pipeline.settings import load_settings
    from review_pipeline.simulator.world import world_state

    state = world_state(load_settings())
    if state is None or state[0].profile != profile or state[0].seed != seed:
        return None
    return state[0].start, state[1]


def _refuse_to_replace(profile: str, seed: int) -> None:
    """Stop before generation would replace another simulated world in this REVIEW_HOME."""
    from review_pipeline.errors import UserError
    from review_pipeline.settings import load_settings
    from review_pipeline.simulator.world import world_state

    settings = load_settings()
    state = world_state(settings)
    if state is not None:
        other = state[0]
        raise UserError(
            f"{settings.home} holds a simulated {other.profile} world (seed {other.seed}); "
            f"benchmarking {profile} (seed {seed}) would replace it. Use another REVIEW_HOME "
            "for the benchmark, or pass --fresh to replace it"
        )


def bench_warehouse_url() -> str:
    """The benchmark's own warehouse database: the configured (or embedded) one + ``_bench``."""
    from review_pipeline.db import warehouse_url
    from review_pipeline.settings import load_settings

    url = warehouse_url(load_settings())
    name = f"{url.database or 'review_warehouse'}_bench"
    return str(url.set(database=name).render_as_string(hide_password=False))
