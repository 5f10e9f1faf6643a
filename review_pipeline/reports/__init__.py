"""Review reports R1-R9 (DOMAIN.md "The review reports") as mart tables.

The reports read only the warehouse (``dw``) and the checks (``dq``) and write
only the ``mart`` schema; see ``docs/reports.md``.
"""

from __future__ import annotations
