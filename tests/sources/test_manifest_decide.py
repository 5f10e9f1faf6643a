"""Exactly-once decisions of the file manifest (pure)."""

from __future__ import annotations

import hashlib

import pytest

from review_pipeline.sources.manifest import ManifestEntry, decide, sha256_of

pytestmark = pytest.mark.unit

A, B = "a" * 64, "b" * 64
LOADED_A = ManifestEntry(1, "orders_1.csv", A, "loaded", 1)


@pytest.mark.parametrize(
    ("entries", "name", "sha", "expected"),
    [
        ([], "orders_1.csv", A, ("load", 1, None)),
        ([LOADED_A], "orders_1.csv", A, ("skip", None, 1)),  # the same file twice
        ([LOADED_A], "orders_1 (copy).csv", A, ("duplicate", None, 1)),  # renamed copy
        ([LOADED_A], "orders_1.csv", B, ("load", 2, 1)),  # new version under the same name
        (
            [LOADED_A, ManifestEntry(2, "orders_1.csv", B, "loaded", 2)],
            "orders_1.csv",
            "c" * 64,
            ("load", 3, 2),
        ),
        (
            [ManifestEntry(1, "orders_1.csv", A, "quarantined", 1)],
            "orders_1.csv",
            A,
            ("skip", None, 1),  # a broken file is not retried until its content changes
        ),
        (
            [LOADED_A, ManifestEntry(2, "copy.csv", A, "duplicate", None)],
            "copy.csv",
            A,
            ("skip", None, 2),  # a known duplicate is not recorded again
        ),
        (
            [LOADED_A, ManifestEntry(2, "copy.csv", A, "duplicate", None)],
            "copy2.csv",
            A,
            ("duplicate", None, 1),  # points at the original, not at another copy
        ),
    ],
    ids=[
        "new",
        "same-twice",
        "renamed-copy",
        "new-version",
        "third-version",
        "quarantined-same",
        "known-duplicate",
        "second-copy",
    ],
)
def test_decide(entries, name, sha, expected):
    decision = decide(entries, name, sha)
    assert (decision.action, decision.version, decision.previous_id) == expected
    assert decision.reason


def test_sha256_of(tmp_path):
    path = tmp_path / "x.bin"
    data = b"\x00\x01" * 700_000
    path.write_bytes(data)
    assert sha256_of(path) == (hashlib.sha256(data).hexdigest(), len(data))
    link = tmp_path / "link.bin"
    link.symlink_to(path)
    with pytest.raises(OSError):
        sha256_of(link)
