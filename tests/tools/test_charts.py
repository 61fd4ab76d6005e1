"""Charts are real PNGs, and Chinese labels draw with a CJK font rather than as boxes."""

import warnings

import pytest

from tools.charts import render_chart
from tools.results import ChartSpec


@pytest.mark.parametrize("kind", ["bar", "line", "pie"])
def test_chinese_chart_has_every_glyph(tmp_path, kind):
    spec = ChartSpec(kind=kind, title=f"上个季度各地区的销售额 {kind}", x=["华东", "华北", "US East"],
                     series={"销售额": [120.5, 80.0, 60.2]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = render_chart(spec, tmp_path)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing == []
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5_000


def test_same_spec_reuses_the_file(tmp_path):
    spec = ChartSpec(kind="bar", title="t", x=["a"], series={"s": [1.0]})
    first = render_chart(spec, tmp_path)
    mtime = first.stat().st_mtime_ns
    assert render_chart(spec, tmp_path) == first and first.stat().st_mtime_ns == mtime
