"""A/B statistics for campaign variants: two-proportion tests, confidence intervals, Holm correction.

Procedure (``compare_to_control``), chosen before looking at the data:
- each non-control variant is compared with the control on one rate (conversion by default);
- the test is the pooled two-proportion z-test (two-sided) when every expected cell
  count (pooled rate x n, and its complement) is at least 5, and Fisher's exact test
  otherwise, where the normal approximation is unreliable;
- the 95 % interval of the difference (variant - control) is Newcombe's hybrid score
  interval (Wilson intervals combined), which keeps its coverage for small counts and
  rates near 0 where the Wald interval does not;
- with several variants, the p-values are Holm-adjusted (step-down Bonferroni), so the
  chance of any false "significant" stays at alpha across the family;
- "significant" means adjusted p < alpha. Under no real difference this is false at
  most alpha of the time (tests/tools/test_ab_stats.py simulates it).
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

Z95 = 1.959963984540054
MIN_EXPECTED = 5.0


class ProportionTest(BaseModel):
    variant: str
    control: str
    rate: float
    control_rate: float
    difference: float = Field(description="variant rate - control rate")
    ci_low: float
    ci_high: float
    relative_lift: float | None = Field(
        description="difference / control rate; None when the control rate is 0"
    )
    method: str = Field(description="z-test or fisher")
    p_value: float
    p_adjusted: float = Field(description="Holm-adjusted over the variants compared with the control")
    significant: bool
    verdict: str


def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, *, z: float = Z95) -> tuple[float, float]:
    """CI of p1 - p2 (Newcombe 1998, method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, z=z)
    l2, u2 = wilson_interval(x2, n2, z=z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


def two_proportion_p_value(x1: int, n1: int, x2: int, n2: int) -> tuple[float, str]:
    """Two-sided p-value for p1 != p2 and the method used ('z-test' or 'fisher')."""
    if n1 == 0 or n2 == 0:
        return 1.0, "none"
    pooled = (x1 + x2) / (n1 + n2)
    expected = min(pooled * n1, (1 - pooled) * n1, pooled * n2, (1 - pooled) * n2)
    if expected < MIN_EXPECTED:
        from scipy.stats import fisher_exact

        _, p = fisher_exact([[x1, n1 - x1], [x2, n2 - x2]], alternative="two-sided")
        return float(p), "fisher"
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0, "z-test"
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2)), "z-test"


def holm(p_values: list[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def compare_to_control(
    counts: dict[str, tuple[int, int]], *, control: str, alpha: float = 0.05, metric: str = "conversion"
) -> list[ProportionTest]:
    """Test every variant against the control. ``counts`` maps variant -> (successes, trials)."""
    if control not in counts:
        raise KeyError(control)
    xc, nc = counts[control]
    others = [v for v in counts if v != control]
    raw = [two_proportion_p_value(*counts[v], xc, nc) for v in others]
    adjusted = holm([p for p, _ in raw])
    z = _z(alpha)
    out = []
    for v, (p, method), p_adj in zip(others, raw, adjusted, strict=True):
        x, n = counts[v]
        rate, control_rate = (x / n if n else 0.0), (xc / nc if nc else 0.0)
        low, high = newcombe_interval(x, n, xc, nc, z=z) if n and nc else (-1.0, 1.0)
        significant = p_adj < alpha
        out.append(
            ProportionTest(
                variant=v,
                control=control,
                rate=rate,
                control_rate=control_rate,
                difference=rate - control_rate,
                ci_low=low,
                ci_high=high,
                relative_lift=(rate - control_rate) / control_rate if control_rate else None,
                method=method,
                p_value=p,
                p_adjusted=p_adj,
                significant=significant,
                verdict=_verdict(
                    v, control, rate, control_rate, low, high, p_adj, significant, alpha, metric, len(others)
                ),
            )
        )
    return out


def _z(alpha: float) -> float:
    if abs(alpha - 0.05) < 1e-12:
        return Z95
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2))


def _verdict(v, control, rate, control_rate, low, high, p, significant, alpha, metric, m) -> str:
    conf = f"{1 - alpha:.0%}"
    diff = (rate - control_rate) * 100
    ci = f"{conf} CI {low * 100:+.2f} to {high * 100:+.2f} pts"
    adj = ", Holm-adjusted" if m > 1 else ""
    head = f"{v} {metric} {rate:.2%} vs {control} {control_rate:.2%} ({diff:+.2f} pts, {ci}; p={p:.3g}{adj})"
    if significant:
        better = "better" if rate > control_rate else "worse"
        return f"{head}: {v} is significantly {better} than {control} at {conf} confidence."
    return (
        f"{head}: no significant difference at {conf} confidence; treat them as equal or collect more data."
    )
