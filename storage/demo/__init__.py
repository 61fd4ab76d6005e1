"""Deterministic demo data: a whole CRM with planted, recorded truths (``crm demo``).

    from storage.demo import generate
    summary = generate(customers=5000, today=date(2026, 11, 22))
"""

from storage.demo.config import LOCALES, DemoPlan
from storage.demo.generator import DemoRefused, DemoSummary, generate
from storage.demo.writer import ProgressFn

__all__ = ["LOCALES", "DemoPlan", "DemoRefused", "DemoSummary", "ProgressFn", "generate"]
