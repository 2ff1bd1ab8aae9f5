"""Result tables in the paper's layout (Table 1): rows = variants, columns = datasets, blocks = ratios."""

from __future__ import annotations

import html
import math
from typing import Any

from action2vec.variants import title

__all__ = ["fmt_mean_std", "chance_level", "features_note", "zsl_table_rows", "zsl_table_markdown", "table_html"]


def chance_level(dataset: dict[str, Any], ratio: str, metric: str) -> float | None:
    """The chance level of ``metric`` at ``ratio`` in one data set of a zsl summary.

    Summaries written before per-metric chance levels hold one number per ratio (1/n_unseen): top-k
    chance is then k times it (at most 1), mean per-class accuracy the number itself.
    """
    chance = dataset.get("chance", {}).get(ratio)
    if isinstance(chance, dict) or chance is None:
        return (chance or {}).get(metric)
    if metric.startswith("top") and metric[3:].isdigit():
        return min(1.0, int(metric[3:]) * float(chance))
    return float(chance) if metric == "mean_class_acc" else None

def fmt_mean_std(cell: dict | None, percent: bool = True) -> str:
    """``{"mean": 0.2348, "std": 0.012}`` -> ``"23.48 ± 1.20"`` (``"-"`` when missing)."""
    if not cell or cell.get("mean") is None or (isinstance(cell["mean"], float) and math.isnan(cell["mean"])):
        return "-"
    scale = 100.0 if percent else 1.0
    text = f"{cell['mean'] * scale:.2f}"
    if cell.get("n", 1) > 1 and cell.get("std") is not None:
        text += f" ± {cell['std'] * scale:.2f}"
    return text


def zsl_table_rows(summary: dict[str, Any], metric: str = "top1") -> tuple[list[str], list[list[str]]]:
    """Header and rows of the paper-layout table from a zsl summary (``{"datasets": {name: {...}}}``).

    A block starts with a row holding only the ratio; then one row per variant.
    """
    datasets = list(summary["datasets"])
    ratios: list[str] = []
    variants: list[str] = []
    for ds in summary["datasets"].values():
        for variant, by_ratio in ds["results"].items():
            if variant not in variants:
                variants.append(variant)
            for ratio in by_ratio:
                if ratio not in ratios:
                    ratios.append(ratio)
    header = ["split / variant"] + datasets
    rows: list[list[str]] = []
    for ratio in ratios:
        rows.append([f"**{ratio}**"] + [""] * len(datasets))
        for variant in variants:
            cells = [fmt_mean_std(summary["datasets"][ds]["results"].get(variant, {}).get(ratio, {}).get(metric))
                     for ds in datasets]
            rows.append([title(variant, bool(summary.get("transductive")))] + cells)
        chance = [chance_level(summary["datasets"][ds], ratio, metric) for ds in datasets]
        rows.append(["chance"] + ["-" if c is None else f"{100 * c:.2f}" for c in chance])
    return header, rows


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def features_note(summary: dict[str, Any]) -> str:
    """Which features each row read, per data set (``"Pooled features + KRR (Laplacian): pooled c3d fc7
    (4096-d) (ucf101)"``); "" for summaries that do not record it."""
    parts = []
    for variant in summary.get("variants", []):
        used = {ds: doc.get("features", {}).get(variant) for ds, doc in summary["datasets"].items()}
        used = {ds: text for ds, text in used.items() if text}
        if used:
            parts.append(f"{title(variant)}: " + ", ".join(f"{text} ({ds})" for ds, text in used.items()))
    return "Features: " + "; ".join(parts) + "." if parts else ""


def zsl_table_markdown(summary: dict[str, Any], metric: str = "top1") -> str:
    """The paper-layout table as Markdown (values in %, mean ± std over splits), then the features note."""
    header, rows = zsl_table_rows(summary, metric)
    note = features_note(summary)
    return _markdown(header, rows) + (f"\n{note}\n" if note else "")


def table_html(header: list[str], rows: list[list[str]]) -> str:
    """A plain HTML table (``**x**`` cells become bold block headers)."""

    def cell(text: str, tag: str) -> str:
        if text.startswith("**") and text.endswith("**"):
            return f"<{tag}><b>{html.escape(text[2:-2])}</b></{tag}>"
        return f"<{tag}>{html.escape(text)}</{tag}>"

    out = ["<table>", "<tr>" + "".join(cell(h, "th") for h in header) + "</tr>"]
    out += ["<tr>" + "".join(cell(c, "td") for c in row) + "</tr>" for row in rows]
    out.append("</table>")
    return "\n".join(out)
