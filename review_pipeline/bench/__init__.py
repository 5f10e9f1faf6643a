"""The benchmark suite (``review-pipeline bench`` / ``make bench``); see docs/benchmark.md."""

from review_pipeline.bench.core import (
    BenchReport,
    StageResult,
    default_stages,
    machine_info,
    measure,
    run_benchmark,
)

__all__ = [
    "BenchReport",
    "StageResult",
    "default_stages",
    "machine_info",
    "measure",
    "run_benchmark",
]
