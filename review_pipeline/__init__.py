"""review-pipeline: the sales REVIEW method as an Airflow-orchestrated data pipeline.

Stages, data flowing one way: ``sources`` (extraction) -> ``quality`` (checks,
gates, scores) -> ``warehouse`` (star schema) -> ``reports`` (marts R1-R9) ->
``packs`` (workbooks) -> ``delivery`` (outbox, email) ; ``advice`` reads the marts.
The shared floor is ``settings``, ``db``, ``workdays``, ``ops`` and ``cli``;
``simulator`` is a stand-in source system the pipeline itself never imports.
"""

from __future__ import annotations

__version__ = "0.1.0"
