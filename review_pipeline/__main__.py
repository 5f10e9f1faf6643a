"""``python -m review_pipeline`` is the same as the ``review-pipeline`` command."""

from __future__ import annotations

from review_pipeline.cli import main

if __name__ == "__main__":
    main()
