"""canonical.py mirrors docs/canonical.md, the staging tables and the raw file tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from review_pipeline.sources.canonical import CANONICAL, raw_file_ddl

ROOT = Path(__file__).resolve().parents[2]


def _doc_entities() -> dict[str, set[str]]:
    """Entity -> names in backticks on its row of docs/canonical.md (keys, fields, enum values)."""
    text = (ROOT / "docs" / "canonical.md").read_text(encoding="utf-8")
    out: dict[str, set[str]] = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*`(\w+)`[^|]*\|(.*)", line)
        if m:
            out[m.group(1)] = set(re.findall(r"`(\w+)`", m.group(2)))
    return out


@pytest.mark.unit
def test_entities_and_fields_match_the_doc():
    doc = _doc_entities()
    assert set(doc) == set(CANONICAL)
    for name, ent in CANONICAL.items():
        named = doc[name]
        fields = set(ent.field_names)
        if name == "lead_history":  # the doc says "the lead's ... expected dates"
            fields -= {
                "expected_tender_date",
                "expected_order_date",
                "expected_collection_date",
                "expected_collection_cny",
            }
        missing = fields - named
        assert not missing, f"{name}: fields not in docs/canonical.md: {missing}"
        for key in ent.keys:
            assert key in named, f"{name}: key {key} not in the doc"
    mentioned = set(re.findall(r"`(\w+)`", (ROOT / "docs" / "canonical.md").read_text("utf-8")))
    mentioned |= {"S2", "S3", "S4"}  # the doc writes `S1`..`S5`
    for name, ent in CANONICAL.items():
        for fld in ent.fields:
            if fld.type == "enum":
                assert set(fld.values) <= mentioned, f"{name}.{fld.name}: values not in the doc"


@pytest.mark.unit
def test_migration_holds_the_generated_raw_tables():
    sql = (ROOT / "sql" / "migrations" / "0002_file_manifest.sql").read_text(encoding="utf-8")
    for name in CANONICAL:
        assert raw_file_ddl(name) in sql, f"raw.file_{name} differs from canonical.raw_file_ddl"


@pytest.mark.integration
def test_database_tables_match_the_model(file_wh):
    import sqlalchemy as sa

    with file_wh.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select table_schema, table_name, column_name from information_schema.columns"
                " where table_schema in ('raw', 'staging')"
            )
        ).all()
    columns: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in rows:
        columns.setdefault((schema, table), set()).add(column)
    for name, ent in CANONICAL.items():
        raw = columns[("raw", f"file_{name}")]
        assert set(ent.row_columns) <= raw
        staging = columns.get(("staging", name))
        assert staging is not None, f"no staging.{name}"
        assert set(ent.row_columns) <= staging, (
            f"staging.{name} lacks {set(ent.row_columns) - staging}"
        )
