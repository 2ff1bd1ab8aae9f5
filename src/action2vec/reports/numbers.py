"""The report's one number format: accuracies and chance levels as percentages with two decimals, gaps between
them in percentage points, correlations as Spearman ρ with three decimals, other quantities (losses) with three.
Results hold fractions; only these functions turn them into text."""

from __future__ import annotations

import math

__all__ = ["percent", "percent_cell", "points", "rho", "plain"]


def _nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)


def percent_cell(value: float | None) -> str:
    """A fraction as a table cell in %: 0.2348 -> ``"23.48"`` (``"-"`` when missing)."""
    return "-" if value is None or _nan(value) else f"{100 * value:.2f}"


def percent(value: float | None) -> str:
    """A fraction in a sentence: 0.2348 -> ``"23.48 %"``."""
    return "-" if value is None or _nan(value) else f"{100 * value:.2f} %"


def points(value: float | None) -> str:
    """A difference of two fractions in percentage points, without sign: -0.016 -> ``"1.60 points"``."""
    return "-" if value is None or _nan(value) else f"{100 * abs(value):.2f} points"


def rho(value: float | None) -> str:
    """A correlation: 0.09812 -> ``"0.098"``."""
    return "-" if value is None or _nan(value) else f"{value:.3f}"


def plain(value: float | None) -> str:
    """Any other quantity (a loss, λ): three decimals."""
    return "-" if value is None or _nan(value) else f"{value:.3f}"
