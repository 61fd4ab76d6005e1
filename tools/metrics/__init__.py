"""A semantic layer over the CRM: named measures and dimensions compiled to scoped SQL.

``query_metrics`` is the tool; ``MEASURES`` and ``DIMENSIONS`` are the catalogue
(with English and Chinese synonyms, for routers).
"""

from tools.metrics.catalog import DIMENSIONS, MEASURES, Dimension, Measure
from tools.metrics.models import QueryMetricsParams, QueryMetricsResult
from tools.metrics.query import query_metrics
from tools.metrics.resolve import resolve_dimension, resolve_measure

__all__ = [
    "DIMENSIONS",
    "MEASURES",
    "Dimension",
    "Measure",
    "QueryMetricsParams",
    "QueryMetricsResult",
    "query_metrics",
    "resolve_dimension",
    "resolve_measure",
]
