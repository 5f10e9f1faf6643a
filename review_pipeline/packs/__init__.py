"""Review packs: one Excel workbook per manager and period, queued for delivery.

See docs/packs.md. Stage functions: :func:`review_pipeline.packs.pipeline.build_packs`
(weekly) and :func:`review_pipeline.packs.pipeline.build_monthly_packs`.
"""
