"""The source -> warehouse COPY relay: every byte arrives, and a failure on either side loses
nothing silently (a source error fails the warehouse's COPY; a warehouse error stops the source)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from review_pipeline.db import libpq_dsn
from review_pipeline.sources.relay import SourceCopyError, relay_copy

ROWS = 200_000  # several MB: many pipe blocks, so both threads really interleave


@pytest.fixture
def pair(make_database) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Connection[Any]]]:
    src = psycopg.connect(
        libpq_dsn(make_database("src")),
        options="-c timezone=Asia/Shanghai -c default_transaction_read_only=on",
    )
    dst = psycopg.connect(libpq_dsn(make_database("dst")))
    dst.execute("create table landed (i bigint, label text, at timestamptz, note text)")
    dst.commit()
    yield src, dst
    src.close()
    dst.close()


SELECT = sql.SQL(
    "select i, 'row ' || i || E'\\t\\\\ 中文', timestamptz '2026-01-01 08:00+08' + i * interval '1 s',"
    " case when mod(i, 7) = 0 then null else repeat('x', mod(i, 50)) end"
    " from generate_series(1, %(n)s) as i"
)


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_every_row_arrives_byte_for_byte(pair) -> None:
    src, dst = pair
    rows = relay_copy(src, SELECT, {"n": ROWS}, dst, sql.Identifier("landed"))
    dst.commit()
    assert rows == ROWS
    # the same select evaluated on the warehouse side must equal what was relayed,
    # tabs, backslashes, Chinese text and NULLs included
    expected = sql.SQL("select * from ({}) as e").format(SELECT)
    diff = dst.execute(
        sql.SQL("select count(*) from (({q}) except all (select * from landed)) as d").format(
            q=expected
        ),
        {"n": ROWS},
    ).fetchone()
    assert diff == (0,)
    assert dst.execute("select count(*) from landed").fetchone() == (ROWS,)


def test_the_source_session_settings_are_kept(pair) -> None:
    """The producer's own connection has the source connection's time zone (timestamps
    are rendered in the source's zone) and is read-only."""
    src, dst = pair
    relay_copy(
        src,
        sql.SQL(
            "select 1, current_setting('transaction_read_only'), now(), current_setting('timezone')"
        ),
        {},
        dst,
        sql.Identifier("landed"),
    )
    label, note = dst.execute("select label, note from landed").fetchone()
    assert (label, note) == ("on", "Asia/Shanghai")


def test_a_source_error_mid_stream_fails_the_warehouse_copy(pair) -> None:
    src, dst = pair
    before = _threads()
    failing = sql.SQL(
        "select i, (1 / (i - 150000))::text, null::timestamptz, null from generate_series(1, %(n)s) as i"
    )
    with pytest.raises(SourceCopyError, match="division by zero"):
        relay_copy(src, failing, {"n": ROWS}, dst, sql.Identifier("landed"))
    # the warehouse's COPY was abandoned: the transaction is aborted, nothing is visible
    assert dst.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
    dst.rollback()
    assert dst.execute("select count(*) from landed").fetchone() == (0,)
    assert _threads() <= before


def test_a_warehouse_error_stops_the_source(pair) -> None:
    src, dst = pair
    dst.execute("alter table landed add constraint small check (i < 1000)")
    dst.commit()
    before = _threads()
    with pytest.raises(psycopg.errors.CheckViolation):
        relay_copy(src, SELECT, {"n": ROWS}, dst, sql.Identifier("landed"))
    dst.rollback()
    assert _threads() <= before  # the producer thread ended (its pipe was closed)
    # and the source server ends the COPY it was sending (its client went away)
    deadline = time.monotonic() + 10
    while True:
        busy = src.execute(
            "select count(*) from pg_stat_activity where query ilike 'copy (select i, %%'"
            " and pid <> pg_backend_pid()"
        ).fetchone()
        src.rollback()
        if busy == (0,) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert busy == (0,)


def test_a_source_that_cannot_connect_is_named(pair, monkeypatch) -> None:
    src, dst = pair
    monkeypatch.setattr(
        "review_pipeline.sources.relay.source_conninfo",
        lambda _src: "host=127.0.0.1 port=1 connect_timeout=2",
    )
    with pytest.raises(SourceCopyError, match="reading the source failed"):
        relay_copy(src, SELECT, {"n": 10}, dst, sql.Identifier("landed"))
    dst.rollback()
    assert dst.execute("select count(*) from landed").fetchone() == (0,)


def test_text_arrives_in_the_warehouse_encoding_from_a_gb2312_source(make_database, pg_admin_url):
    """A source database in EUC_CN (GB2312, as older Chinese systems run): the relay asks the source for the
    warehouse's encoding, so Chinese text lands unchanged instead of as GB2312 bytes."""
    from sqlalchemy.engine import make_url

    gbk = f"{make_database('gbkname')}_gbk"
    name = make_url(gbk).database
    with psycopg.connect(libpq_dsn(pg_admin_url), autocommit=True) as admin:
        admin.execute(
            sql.SQL(
                "create database {} encoding 'EUC_CN' lc_collate 'C' lc_ctype 'C' template template0"
            ).format(sql.Identifier(name))
        )
    try:
        with (
            psycopg.connect(libpq_dsn(gbk)) as src,
            psycopg.connect(libpq_dsn(make_database("utf8dst"))) as dst,
        ):
            dst.execute("create table landed (t text)")
            src.execute("create table names (t text)")
            src.execute("insert into names values ('广州市政务局'), ('浪潮信息（华南）')")
            src.commit()
            assert (
                relay_copy(src, sql.SQL("select t from names"), {}, dst, sql.Identifier("landed"))
                == 2
            )
            got = sorted(r[0] for r in dst.execute("select t from landed"))
            assert got == sorted(["广州市政务局", "浪潮信息（华南）"])
    finally:
        with psycopg.connect(libpq_dsn(pg_admin_url), autocommit=True) as admin:
            admin.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
