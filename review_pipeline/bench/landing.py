"""Put the simulated world's files back in the landing folders for a fresh benchmark warehouse.

Extraction moves every loaded file into ``$REVIEW_HOME/archive/<source>/``
under ``<sha16>_[<n>_]<name>``. A benchmark starts on an empty warehouse and
must read the whole history again, files included, so the files archived by
earlier runs are linked (hard links: no bytes copied; a copy where the file
system refuses) back under their original names. The archive is left as it is.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from review_pipeline.settings import Settings

_ARCHIVED = re.compile(r"^[0-9a-f]{16}_(?:\d+_)?(?P<name>.+)$")


def original_name(archived: str) -> str | None:
    """The landing name of an archived file (``abcd..._2_orders_20260101.csv`` -> ``orders_20260101.csv``)."""
    match = _ARCHIVED.match(archived)
    return match.group("name") if match else None


def restore_landing(settings: Settings) -> int:
    """Link every archived file of each file source back into its landing folder; returns how many."""
    from review_pipeline.sources.pipeline import configured_mappings

    restored = 0
    for mapping in configured_mappings(settings):
        if mapping.kind == "sql":
            continue
        archive = settings.archive_dir / mapping.source
        if not archive.is_dir():
            continue
        landing = settings.landing_dir / mapping.landing_folder
        landing.mkdir(parents=True, exist_ok=True)
        newest: dict[str, Path] = {}
        for path in archive.rglob("*"):
            name = original_name(path.name) if path.is_file() else None
            if name is None:
                continue
            if name not in newest or path.stat().st_mtime > newest[name].stat().st_mtime:
                newest[name] = path
        for name, path in sorted(newest.items()):
            target = landing / name
            if target.exists():
                continue
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
            restored += 1
    return restored
