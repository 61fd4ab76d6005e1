"""Importers: bring outside data into the CRM tables.

    import_online_retail   UCI Online Retail (vectorised, one transaction)
    import_cdnow           CDNOW master/sample (BTYD cohort)
    import_csv             any entity from a CSV with an optional column mapping (batched upsert)

Each returns an :class:`ImportReport`; each raises ``storage.errors.ImportFailed``
when it cannot start (missing file, empty file, missing columns, bad mapping).
"""

from storage.importers.cdnow import import_cdnow
from storage.importers.csv_import import DEFAULT_BATCH_SIZE, import_csv
from storage.importers.mappings import Entity
from storage.importers.online_retail import import_online_retail
from storage.importers.report import EntityCounts, ImportReport, ProgressFn, RowError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Entity",
    "EntityCounts",
    "ImportReport",
    "ProgressFn",
    "RowError",
    "import_cdnow",
    "import_csv",
    "import_online_retail",
]
