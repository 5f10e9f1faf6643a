"""The benchmark: every stage on a profile, with wall time, rows per second and peak RSS.

Each stage runs as its own ``review-pipeline`` subprocess (the way an Airflow
task runs it), sampled every 100 ms for the resident memory of the process
tree, so one stage's memory never hides another's. Results go to
``bench-results/<profile>-<timestamp>.json`` and ``.md``; the README quotes
the latest Markdown.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil


@dataclass
class StageResult:
    stage: str
    command: list[str]
    seconds: float
    peak_rss_mb: float
    rows: int | None = None
    ok: bool = True
    note: str = ""

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

    def as_json(self) -> str:
        data = asdict(self)
        for stage, obj in zip(data["stages"], self.stages, strict=True):
            stage["rows_per_second"] = obj.rows_per_second
        return json.dumps(data, indent=2, ensure_ascii=False)

    def as_markdown(self) -> str:
        lines = [
            f"### Benchmark: profile `{self.profile}` ({self.started_at})",
            "",
            f"Machine: {self.machine['cpus']} CPUs, {self.machine['memory_gb']} GB RAM, "
            f"{self.machine['platform']}, Python {self.machine['python']}, PostgreSQL {self.machine.get('postgres', '?')}",
            "",
            "| stage | wall time | rows | rows/s | peak RSS | note |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for s in self.stages:
            rps = f"{s.rows_per_second:,.0f}" if s.rows_per_second else ""
            rows = f"{s.rows:,}" if s.rows else ""
            status = "" if s.ok else "**failed** "
            lines.append(
                f"| {s.stage} | {s.seconds:,.1f} s | {rows} | {rps} | {s.peak_rss_mb:,.0f} MB | {status}{s.note} |"
            )
        if self.targets:
            lines += ["", "| target | measured | met |", "|---|---|---|"]
            for t in self.targets:
                lines.append(
                    f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |"
                )
        return "\n".join(lines) + "\n"


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
    }


def measure(stage: str, command: Sequence[str], env: dict[str, str] | None = None) -> StageResult:
    """Run ``command``; return its wall time and the peak RSS of its whole process tree.

    The command's output goes to a temporary file (a pipe could fill and stall
    it); its last line becomes the note of a failed stage.
    """
    import tempfile

    started = time.perf_counter()
    peak = 0
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        proc = subprocess.Popen(
            list(command), env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        ps = psutil.Process(proc.pid)
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
        log.seek(0)
        text = log.read()
    lines = text.strip().splitlines()
    note = "" if proc.returncode == 0 else (lines[-1][:200] if lines else "failed")
    return StageResult(
        stage, list(command), seconds, peak / 2**20, ok=proc.returncode == 0, note=note
    )


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "review_pipeline", *args]


def run_benchmark(
    profile: str,
    out_dir: Path,
    *,
    seed: int = 7,
    reuse: bool = True,
    stages: Callable[[str], list[tuple[str, list[str]]]] | None = None,
    on_stage: Callable[[StageResult], None] | None = None,
) -> BenchReport:
    """Run every stage in order and write the JSON and Markdown reports."""
    report = BenchReport(profile, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), machine_info())
    plan = (stages or default_stages)(profile)
    for name, command in plan:
        if reuse and name == "generate" and _world_exists(profile):
            continue
        result = measure(name, command)
        report.stages.append(result)
        if on_stage:
            on_stage(result)
        if not result.ok:
            break
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{profile}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    (out_dir / f"{stem}.json").write_text(report.as_json(), encoding="utf-8")
    (out_dir / f"{stem}.md").write_text(report.as_markdown(), encoding="utf-8")
    (out_dir / f"latest-{profile}.md").write_text(report.as_markdown(), encoding="utf-8")
    return report


def _world_exists(profile: str) -> bool:
    from review_pipeline.settings import load_settings
    from review_pipeline.simulator.world import world_state

    state = world_state(load_settings())
    return state is not None and state[0].profile == profile


def default_stages(profile: str) -> list[tuple[str, list[str]]]:
    return [("generate", cli("generate", "--profile", profile, "--seed", "7"))]
