"""Draw a ``ChartSpec`` as a PNG with matplotlib (headless)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from tools.results import ChartSpec

# Fonts that carry CJK glyphs, in order of preference, so Chinese labels are not drawn as boxes.
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback")
# The mplfonts wheel ships Noto Sans CJK SC, so no system font package is needed.
_BUNDLED_CJK = ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf")


@lru_cache
def _font_family() -> list[str]:
    from importlib import resources

    from matplotlib import font_manager

    try:
        font_manager.fontManager.addfont(str(resources.files(_BUNDLED_CJK[0]).joinpath(_BUNDLED_CJK[1])))
    except (ModuleNotFoundError, FileNotFoundError, RuntimeError):
        pass  # fall back to whatever CJK font the system has
    names = {f.name for f in font_manager.fontManager.ttflist}
    # DejaVu first: its Latin digits look better; matplotlib falls back per glyph to the CJK font.
    return ["DejaVu Sans"] + [n for n in _CJK_FONTS if n in names]


def render_chart(spec: ChartSpec, out_dir: Path) -> Path:
    """Write the chart to ``out_dir`` (named by content hash, so repeats are free) and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"chart-{hashlib.sha1(spec.model_dump_json().encode()).hexdigest()[:16]}.png"
    if path.exists():
        return path
    plt.rcParams["font.family"] = _font_family()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    try:
        if spec.kind == "pie":
            values = next(iter(spec.series.values()))
            ax.pie(values, labels=spec.x, autopct="%1.0f%%", startangle=90)
            ax.axis("equal")
        elif spec.kind == "line":
            for name, values in spec.series.items():
                ax.plot(spec.x, values, marker="o", label=name)
        else:
            n = len(spec.series)
            width = 0.8 / max(n, 1)
            for i, (name, values) in enumerate(spec.series.items()):
                ax.bar([j + i * width for j in range(len(spec.x))], values, width=width, label=name)
            ax.set_xticks([j + width * (n - 1) / 2 for j in range(len(spec.x))], spec.x)
        if spec.kind != "pie":
            if len(spec.x) > 6:
                plt.setp(ax.get_xticklabels(), rotation=35, ha="right")
            ax.set_xlabel(spec.x_label or "")
            ax.set_ylabel(spec.y_label or "")
            ax.grid(axis="y", alpha=0.3)
            if len(spec.series) > 1:
                ax.legend()
        ax.set_title(spec.title)
        fig.tight_layout()
        tmp = path.with_suffix(".tmp.png")
        fig.savefig(tmp)
        tmp.replace(path)  # atomic: a reader never sees a half-written PNG
    finally:
        plt.close(fig)
    return path
