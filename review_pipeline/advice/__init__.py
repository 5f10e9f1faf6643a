"""Review advice: ranked action items for each manager's pack (docs/advice.md).

Rules (``sql/advice/*.sql``) turn the report marts of a review date into
items stored in ``mart.advice_item`` (stage :func:`pipeline.build_advice`);
:func:`api.advice_for` reads them for a scope, ranked, with their memory.
"""

from review_pipeline.advice.api import AdviceItem, advice_for

__all__ = ["AdviceItem", "advice_for"]
