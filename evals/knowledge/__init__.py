"""Labelled interaction-retrieval queries (EN + ZH) over the pinned demo, and their scorer."""
