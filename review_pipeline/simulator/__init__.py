"""The source simulator: a stand-in CRM database and ERP finance exports.

It imports only the shared floor (settings, db, workdays, errors); nothing in
the pipeline imports it. Entry point: :func:`review_pipeline.simulator.world.generate`.
"""

from __future__ import annotations
