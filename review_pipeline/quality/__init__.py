"""Data quality: authenticity and reporting rules, gates, scores (issue 4).

Public entry points (the CLI and the Airflow tasks call the same functions):

* :func:`review_pipeline.quality.run.run_checks` - every rule of DOMAIN.md for
  a business day or a range, findings, quarantine, scores, Data Docs;
* :func:`review_pipeline.quality.gates.run_gates` - write-audit-publish gates
  that raise :class:`review_pipeline.errors.GateFailed` before publication;
* :func:`review_pipeline.quality.bench.measure_checks` - the speed target:
  all checks for a day against one single-pass reference scan, with the ratio.
"""

from __future__ import annotations
