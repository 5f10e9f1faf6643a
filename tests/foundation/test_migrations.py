from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration

LAYERS = {"raw", "staging", "quarantine", "dq", "dw", "mart", "ops"}


def _schema_fingerprint(engine: sa.Engine) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "select table_schema, table_name, column_name, data_type"
                    " from information_schema.columns"
                    " where table_schema = any(:s) order by 1, 2, 3"
                ),
                {"s": sorted(LAYERS)},
            )
        ]


def test_upgrade_creates_every_layer_and_reapplies_as_noop(db_settings):
    from review_pipeline.db import warehouse_engine
    from review_pipeline.migrations.runner import current_revision, head_revision, upgrade

    engine = warehouse_engine(db_settings)
    assert current_revision(engine) is None
    before, after = upgrade(engine)
    assert before is None and after == head_revision()
    with engine.connect() as conn:
        schemas = set(conn.execute(sa.text("select nspname from pg_namespace")).scalars())
    assert LAYERS <= schemas
    first = _schema_fingerprint(engine)
    assert ("ops", "step_run", "status", "text") in first

    before2, after2 = upgrade(engine)
    assert before2 == after2 == head_revision()
    assert _schema_fingerprint(engine) == first


def test_concurrent_upgrades_apply_once(db_settings):
    from concurrent.futures import ThreadPoolExecutor

    from review_pipeline.db import warehouse_engine
    from review_pipeline.migrations.runner import head_revision, upgrade

    engine = warehouse_engine(db_settings)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: upgrade(engine), range(3)))
    assert all(after == head_revision() for _, after in results)
    with engine.connect() as conn:
        assert conn.execute(
            sa.text("select count(*) from ops.alembic_version")
        ).scalar_one() == len(head_revision().split("+"))
