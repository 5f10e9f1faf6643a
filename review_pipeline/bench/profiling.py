"""Where a stage's time goes: a sampled call tree and a log of the slowest statements.

``profiled(work_dir, stage)`` samples the stage's call stack with pyinstrument
(every 10 ms: a few per cent of overhead, where cProfile's per-call hooks
doubled the time of Python-heavy stages such as the packs and inflated the
very figures the benchmark reports) and times every statement psycopg runs in
the process (``execute``, ``executemany`` and ``COPY`` blocks, SQLAlchemy's
included: it calls the same cursor methods), then writes
``<stage>.profile.txt``: the call tree of the slow paths and the 15
statements with the most total time. Without pyinstrument (it comes with the
``dev`` and ``bench`` extras) it falls back to cProfile and says so. The report quotes the
file of a stage whose target was missed. (pg_stat_statements would need a
server preload the embedded server does not have; the client-side log needs
nothing.)
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import re
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

_SPACE = re.compile(r"\s+")


class StatementLog:
    """Total seconds, calls and the slowest call per statement text (first 160 characters)."""

    def __init__(self) -> None:
        self.stats: dict[str, list[float]] = {}

    def add(self, text: str, seconds: float) -> None:
        key = _SPACE.sub(" ", text).strip()[:160]
        entry = self.stats.setdefault(key, [0.0, 0.0, 0.0])
        entry[0] += seconds
        entry[1] += 1
        entry[2] = max(entry[2], seconds)

    def top(self, n: int = 15) -> list[tuple[str, float, int, float]]:
        rows = sorted(self.stats.items(), key=lambda kv: kv[1][0], reverse=True)[:n]
        return [(k, v[0], int(v[1]), v[2]) for k, v in rows]

    def text(self, n: int = 15) -> str:
        lines = [f"{'total s':>9} {'calls':>6} {'max s':>8}  statement"]
        for stmt, total, calls, slowest in self.top(n):
            lines.append(f"{total:9.2f} {calls:6d} {slowest:8.2f}  {stmt}")
        return "\n".join(lines)


def _statement_text(cursor: Any, query: Any) -> str:
    if isinstance(query, bytes):
        return query.decode("utf-8", "replace")
    if isinstance(query, str):
        return query
    try:
        return str(query.as_string(cursor.connection))
    except Exception:  # noqa: BLE001 - a label is enough for the log
        return repr(query)


@contextlib.contextmanager
def statement_log() -> Generator[StatementLog, None, None]:
    """Time every psycopg statement of this process while the block runs."""
    import psycopg

    stats = StatementLog()
    cls = psycopg.Cursor
    orig_execute, orig_many, orig_copy = cls.execute, cls.executemany, cls.copy

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return orig_execute(self, query, *args, **kwargs)
        finally:
            stats.add(_statement_text(self, query), time.perf_counter() - started)

    def executemany(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return orig_many(self, query, *args, **kwargs)
        finally:
            stats.add("[many] " + _statement_text(self, query), time.perf_counter() - started)

    @contextlib.contextmanager
    def copy(self: Any, statement: Any, *args: Any, **kwargs: Any) -> Generator[Any, None, None]:
        started = time.perf_counter()
        try:
            with orig_copy(self, statement, *args, **kwargs) as c:
                yield c
        finally:
            stats.add(_statement_text(self, statement), time.perf_counter() - started)

    cls.execute, cls.executemany, cls.copy = execute, executemany, copy  # type: ignore[method-assign,assignment]
    try:
        yield stats
    finally:
        cls.execute, cls.executemany, cls.copy = orig_execute, orig_many, orig_copy  # type: ignore[method-assign]


SAMPLE_SECONDS = 0.01
TREE_LINES = 60


@contextlib.contextmanager
def profiled(work_dir: Path, stage: str, *, sampler: bool = True) -> Generator[None, None, None]:
    """Run the block under the statement log (and, with ``sampler``, an in-process
    sampling profiler); write ``<stage>.profile.txt``.

    ``sampler=False`` is what the benchmark uses when py-spy samples the stage
    from outside (:func:`sample_command`): no hook inside the process, so the
    stage's wall time is its own.
    """
    with statement_log() as stats:
        if not sampler:
            body_of = _nothing()
        else:
            try:
                from pyinstrument import Profiler

                body_of = _sampled(Profiler, stage)
            except ImportError:
                body_of = _cprofile(stage)
        next(body_of)
        try:
            yield
        finally:
            body = next(body_of, "")
            head = f"{body}\n\n" if body else ""
            text = f"{head}slowest statements (client-side timing log):\n{stats.text()}\n"
            work_dir.mkdir(parents=True, exist_ok=True)
            (work_dir / f"{stage}.profile.txt").write_text(text, encoding="utf-8")


def _nothing() -> Generator[str, None, None]:
    yield ""
    yield ""


def _sampled(profiler_class: Any, stage: str) -> Generator[str, None, None]:
    profiler = profiler_class(interval=SAMPLE_SECONDS)
    profiler.start()
    yield ""
    profiler.stop()
    tree = profiler.output_text(unicode=False, color=False, show_all=False)
    lines = [line for line in tree.splitlines() if line.strip()]
    cut = f"\n... ({len(lines) - TREE_LINES} more lines)" if len(lines) > TREE_LINES else ""
    body = "\n".join(lines[:TREE_LINES])
    yield f"pyinstrument, sampled every {SAMPLE_SECONDS * 1000:.0f} ms ({stage}):\n{body}{cut}"


def _cprofile(stage: str) -> Generator[str, None, None]:
    profiler = cProfile.Profile()
    profiler.enable()
    yield ""
    profiler.disable()
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(20)
    yield (
        f"cProfile, top 20 by cumulative time ({stage}; install pyinstrument for a sampled "
        f"profile: cProfile slows Python-heavy stages down):\n{_trim_pstats(buffer.getvalue())}"
    )


def _trim_pstats(text: str) -> str:
    """pstats output from its column header on, paths shortened to the package."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    out = []
    for line in lines[start:]:
        line = re.sub(r"\S*/site-packages/", "", line)
        line = re.sub(r"\S*/(review_pipeline/)", r"\1", line)
        if line.strip():
            out.append(line)
    return "\n".join(out)


# ------------------------------------------------------- py-spy, from outside the process
PY_SPY_RATE = 50
"""Samples per second py-spy takes of a stage (every 20 ms)."""


def py_spy_binary() -> str | None:
    """The py-spy executable (the ``bench`` / ``dev`` extras install it next to Python)."""
    import shutil
    import sys

    beside = Path(sys.executable).with_name("py-spy")
    if beside.is_file():
        return str(beside)
    return shutil.which("py-spy")


def sample_command(binary: str, pid: int, output: Path) -> list[str]:
    """py-spy attached to a running stage (and its child processes), raw collapsed stacks.

    ``--nonblocking`` reads the stacks without pausing the process, so the
    stage runs at its own speed. Attaching needs ptrace rights over the
    process: root, or ``kernel.yama.ptrace_scope = 0``.
    """
    return [
        binary,
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--nonblocking",
        "--rate",
        str(PY_SPY_RATE),
        "--format",
        "raw",
        "--output",
        str(output),
    ]


def summarise_samples(raw: str, stage: str, top: int = 30) -> str:
    """The frames a stage spent its samples in, from py-spy's raw collapsed stacks.

    Each input line is ``frame;frame;...;frame count``. Inclusive share: the
    samples in which a frame appears at least once; self share: the samples
    in which it is the innermost frame. Frames are ``function (file:line)``.
    """
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    if not total:
        return f"py-spy ({stage}): no samples"
    lines = [
        f"py-spy, sampled from outside the process {PY_SPY_RATE} times a second ({stage}):"
        f" {total} samples",
        f"{'incl %':>7} {'self %':>7}  frame",
    ]
    for frame, n in sorted(inclusive.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        lines.append(f"{100 * n / total:7.1f} {100 * own.get(frame, 0) / total:7.1f}  {frame}")
    return "\n".join(lines)


def _short_frame(frame: str) -> str:
    frame = re.sub(r"[^\s(]*/site-packages/", "", frame)
    return re.sub(r"[^\s(]*/(review_pipeline/)", r"\1", frame)
