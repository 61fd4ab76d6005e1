"""Plain HTML templates (``string.Template``) with escaping by default.

A value is HTML-escaped unless its name ends in ``_html``, where the caller vouches that it
was built from escaped parts. No template engine and no build step.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=16)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(template: str, /, **values: object) -> str:
    safe = {k: (str(v) if k.endswith("_html") else html.escape(str(v if v is not None else ""))) for k, v in values.items()}
    return _template(template).substitute(safe)


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))
