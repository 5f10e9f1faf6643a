"""Ground-truth entries: every rule violation present in the data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Truth:
    rule_id: str
    entity_type: str  # lead / customer / employee / file
    entity_id: str
    day: date  # the first day the condition holds (see docs/sources/crm.md)
    detail: str
    known_day: date  # the first as-of day on which it is determinable
    source_key: str  # which generator produced it (to replace on a re-run)

    def row(self) -> tuple[str, str, str, date, str, date, str]:
        return (
            self.rule_id,
            self.entity_type,
            self.entity_id,
            self.day,
            self.detail,
            self.known_day,
            self.source_key,
        )
