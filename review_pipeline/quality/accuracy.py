"""Precision and recall of the rules against the simulator's ground truth.

Definition (entity level, per rule): over a range of days, the set of
(rule, entity type, entity id) flagged on ANY day of the range (dq.finding)
is compared with the set of (rule, entity type, entity id) the ground truth
lists with a ``day`` in the range (each entry marks the first day of an
episode). precision = |flagged & truth| / |flagged| (None when nothing was
flagged); recall = |flagged & truth| / |truth| (None when the truth is empty).
Rules the checks do not own (``FILE``) are left out.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from review_pipeline.db import read_sql, warehouse_engine
from review_pipeline.errors import UserError
from review_pipeline.quality.suites import RULES
from review_pipeline.settings import Settings

Key = tuple[str, str, str]  # rule_id, entity_type, entity_id


@dataclass(frozen=True)
class RuleAccuracy:
    rule_id: str
    flagged: int
    truth: int
    true_positives: int

    @property
    def false_positives(self) -> int:
        return self.flagged - self.true_positives

    @property
    def false_negatives(self) -> int:
        return self.truth - self.true_positives

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.truth if self.truth else None


def compare(flagged: Iterable[Key], truth: Iterable[Key]) -> dict[str, RuleAccuracy]:
    """Per-rule precision/recall of two sets of (rule, entity type, entity id)."""
    flagged_set, truth_set = set(flagged), set(truth)
    rules = sorted({k[0] for k in flagged_set | truth_set})
    out = {}
    for rule in rules:
        f = {k for k in flagged_set if k[0] == rule}
        t = {k for k in truth_set if k[0] == rule}
        out[rule] = RuleAccuracy(rule, len(f), len(t), len(f & t))
    return out


def read_ground_truth(path: Path, start: date | None, end: date | None) -> set[Key]:
    """(rule, entity type, entity id) of the ground-truth entries dated in the range."""
    if not path.is_file():
        raise UserError(f"no ground truth at {path}: run `review-pipeline generate` first")
    keys: set[Key] = set()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            rule = row["rule_id"].strip()
            if rule not in RULES:
                continue
            day = date.fromisoformat(row["day"].strip()[:10])
            if (start and day < start) or (end and day > end):
                continue
            keys.add((rule, row["entity_type"].strip(), row["entity_id"].strip()))
    return keys


def truth_range(path: Path) -> tuple[date, date]:
    """First and last day of the ground truth file."""
    days = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            days.append(date.fromisoformat(row["day"].strip()[:10]))
    if not days:
        raise UserError(f"{path} has no entries")
    return min(days), max(days)


def accuracy(
    settings: Settings, start: date | None = None, end: date | None = None
) -> dict[str, RuleAccuracy]:
    """Compare dq.finding with ``simulator_dir/ground_truth.csv`` over ``start`` .. ``end``."""
    path = settings.simulator_dir / "ground_truth.csv"
    if start is None or end is None:
        if not path.is_file():
            raise UserError(f"no ground truth at {path}: run `review-pipeline generate` first")
        first, last = truth_range(path)
        start, end = start or first, end or last
    truth = read_ground_truth(path, start, end)
    engine = warehouse_engine(settings)
    with engine.connect() as conn:
        flagged = {
            (r.rule_id, r.entity_type, r.entity_id)
            for r in conn.execute(
                sa.text(read_sql("quality/accuracy_flagged.sql")),
                {"start_date": start, "end_date": end},
            )
        }
    return compare(flagged, truth)
