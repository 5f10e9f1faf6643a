"""Relay a ``COPY ... TO STDOUT`` from one PostgreSQL server into a ``COPY ... FROM STDIN`` on another.

The source sends one COPY message per row. Handling each of them in Python
(psycopg 3's ``Copy`` iterator) costs about a microsecond a row and, done in
the same thread that writes to the warehouse, serialises the two servers:
while the relay waits on one, the other idles. Here:

* a **producer thread** runs the source's COPY with psycopg2's
  ``copy_expert``, whose per-row loop is C: each row goes straight into a
  1 MB ``BufferedWriter`` on an OS pipe (the pipe itself enlarged to 1 MB on
  Linux), with the GIL released while it waits on the source or the pipe;
* the **calling thread** reads the pipe in 1 MB blocks and writes them to the
  warehouse's COPY on the caller's psycopg 3 connection (inside the caller's
  transaction).

Both servers work at the same time, and memory is bounded by the buffers
(a few MB) whatever the size of the data. On the medium world the landing of
``lead_history`` (304k rows) went from 1.7-1.9 s (psycopg 3 iterator) to
about 0.9 s (``docs/sources/extraction_speed.md``).

Failures: an error on the source side is raised in the caller *before* the
warehouse COPY ends (so the warehouse rolls the partial COPY back, never
commits a truncated window); an error on the warehouse side closes the pipe,
which stops the producer (its connection is then discarded).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any

import psycopg
from psycopg import sql

from review_pipeline.errors import ReviewError

BLOCK = 1 << 20
"""Bytes per read from the pipe and per write to the warehouse's COPY."""

_F_SETPIPE_SZ = (
    1031  # Linux fcntl: set a pipe's capacity (not in the fcntl module before 3.10 on all builds)
)


class SourceCopyError(ReviewError):
    """The source's side of a relayed COPY failed (the warehouse's COPY was abandoned)."""


def source_conninfo(src: psycopg.Connection[Any]) -> str:
    """A libpq connection string equal to ``src``'s (server, user, password, session options).

    Only the options set away from libpq's compiled-in defaults are kept, so
    an older libpq (psycopg2's wheel) is not handed keywords it does not know.
    """
    from psycopg.conninfo import make_conninfo

    chosen: dict[str, str] = {}
    for option in src.pgconn.info:
        if option.val is None or option.val == option.compiled:
            continue
        chosen[option.keyword.decode()] = option.val.decode()
    return make_conninfo("", **chosen)


def copy_statement(src: psycopg.Connection[Any], select: sql.Composable, params: Any) -> str:
    """``copy (<select>) to stdout`` with ``params`` bound by psycopg's client-side binding.

    COPY takes no server-side parameters; :class:`psycopg.ClientCursor` quotes
    each value as a literal of its type (the driver's own escaping, never
    string formatting).
    """
    statement = sql.SQL("copy ({}) to stdout").format(select)
    return psycopg.ClientCursor(src).mogrify(statement, params)


def _open_pipe() -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    if sys.platform.startswith("linux"):
        import fcntl

        with contextlib.suppress(OSError):  # capped by /proc/sys/fs/pipe-max-size
            fcntl.fcntl(write_fd, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), BLOCK)
    return read_fd, write_fd


def relay_copy(
    src: psycopg.Connection[Any],
    select: sql.Composable,
    params: Any,
    dst: psycopg.Connection[Any],
    target: sql.Composable,
) -> int:
    """Stream ``select`` (run on ``src``'s server) into ``copy <target> from stdin`` on ``dst``.

    ``target`` is a table, optionally with a column list. The source side
    runs on its own short-lived connection with ``src``'s settings (time
    zone, read-only); ``dst`` stays in its transaction. Returns the rows the
    source sent.
    """
    import psycopg2

    statement = copy_statement(src, select, params)
    conninfo = source_conninfo(src)
    # the source sends text in the warehouse session's encoding, whatever its own is
    encoding = (dst.pgconn.parameter_status(b"client_encoding") or b"UTF8").decode()
    read_fd, write_fd = _open_pipe()
    outcome: dict[str, Any] = {}

    def produce() -> None:
        conn = None
        try:
            with os.fdopen(write_fd, "wb", buffering=BLOCK) as pipe:
                conn = psycopg2.connect(conninfo)
                conn.set_client_encoding(encoding)
                cur = conn.cursor()
                cur.copy_expert(statement, pipe, size=BLOCK)
                outcome["rows"] = cur.rowcount
            conn.rollback()
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome["error"] = exc
        finally:
            if conn is not None:
                conn.close()

    producer = threading.Thread(target=produce, name="copy-relay", daemon=True)
    producer.start()
    try:
        with (
            os.fdopen(read_fd, "rb", buffering=BLOCK) as pipe,
            dst.cursor() as cur,
            cur.copy(sql.SQL("copy {} from stdin").format(target)) as copy,
        ):
            while data := pipe.read(BLOCK):
                copy.write(data)
            producer.join()
            if "error" in outcome:  # raised inside the COPY block: the warehouse's COPY fails
                error = outcome["error"]
                raise SourceCopyError(f"reading the source failed: {error}".strip()) from error
    finally:
        # the pipe's read end is closed by now: a producer still writing gets EPIPE and stops
        producer.join()
    return max(int(outcome.get("rows", 0)), 0)
