"""The benchmark's measurement: wall time and peak RSS of a whole process tree."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.unit

# A child that holds ~80 MB for a moment, started by a parent that holds little:
# the peak must include the grandchild's memory.
CHILD = "import time; b = bytearray(80 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.8)"
PARENT = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {CHILD!r}], check=True)"


def test_measure_sees_the_peak_of_child_processes():
    from review_pipeline.bench import measure

    result = measure("probe", [sys.executable, "-c", PARENT])
    assert result.ok
    assert result.seconds >= 0.8
    assert result.peak_rss_mb >= 80


def test_a_failing_stage_carries_its_last_line():
    from review_pipeline.bench import measure

    result = measure(
        "probe", [sys.executable, "-c", "import sys; print('first'); sys.exit('disk full')"]
    )
    assert not result.ok
    assert result.note == "disk full"


def test_markdown_report_lists_each_stage_and_unmet_targets():
    from review_pipeline.bench import BenchReport, StageResult

    report = BenchReport(
        "large",
        "2026-11-27 12:00 UTC",
        {"cpus": 2, "memory_gb": 24, "platform": "x", "python": "3.11"},
    )
    report.stages.append(StageResult("generate", ["g"], 600.0, 300.0, rows=1_200_000))
    report.targets.append({"target": "generate <= 15 min", "measured": "10.0 min", "met": True})
    report.targets.append({"target": "peak RSS <= 1 GB", "measured": "1.2 GB", "met": False})
    text = report.as_markdown()
    assert "| generate | 600.0 s | 1,200,000 | 2,000 | 300 MB |" in text
    assert "| peak RSS <= 1 GB | 1.2 GB | **no** |" in text
