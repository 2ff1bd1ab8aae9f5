"""The headline figures of a run, built once: the numbers report.json leads with (``zsl_headline``) and the
few plain-text lines the demo prints (``headline_text``), followed by the run's findings. Accuracies are
fractions in JSON, % in text."""

from __future__ import annotations

from typing import Any

from action2vec.evaluation.results import AnalogyResult, WordNetResult, ZslSummary
from action2vec.reports.findings import run_findings
from action2vec.reports.numbers import percent, percent_cell, rho
from action2vec.variants import title

__all__ = ["zsl_headline", "headline_text"]


def zsl_headline(summary: ZslSummary) -> dict[str, Any]:
    """The first data set's first ratio: ``{"dataset", "ratio", "chance": top-1 chance, "<method>": {"top1":
    mean, "top5": ..., "top1_std" (None for one split), "splits"}}`` ({} for an empty summary)."""
    if not summary.datasets or not summary.ratios():
        return {}
    dataset = next(iter(summary.datasets))
    ratio = summary.ratios()[0]
    out: dict[str, Any] = {"dataset": dataset, "ratio": ratio, "chance": summary.chance(dataset, ratio, "top1")}
    for variant in summary.variants:
        cell = summary.cell(dataset, variant, ratio)
        if cell:
            out[variant] = {metric: s.mean for metric, s in cell.items()}
            if "top1" in cell:  # a spread needs two splits: none for one
                out[variant].update(top1_std=cell["top1"].std if cell["top1"].n > 1 else None, splits=cell["top1"].n)
    return out


def _zsl_lines(summary: ZslSummary) -> list[str]:
    head = zsl_headline(summary)
    if not head:
        return []
    n = max((v["splits"] for v in head.values() if isinstance(v, dict) and "splits" in v), default=1)
    width = max(len(title(v, summary.transductive)) for v in summary.variants) + 2
    over = f"mean ± std over {n} splits" if n > 1 else "one split"
    lines = [f"zero-shot top-1, {head['ratio']} classes of {head['dataset']}, {over}:"]
    for variant in summary.variants:
        if "top1" in head.get(variant, {}):
            cell = head[variant]
            spread = f" ± {percent(cell['top1_std'])}" if cell["top1_std"] is not None else " %"
            lines.append(f"  {title(variant, summary.transductive):<{width}}{percent_cell(cell['top1']):>6}{spread}")
    lines.append(f"  {'chance':<{width}}{percent(head['chance']):>8}")
    return lines


def _analogy_lines(analogy: AnalogyResult) -> list[str]:
    lines = []
    for exclude in dict.fromkeys(s.exclude_query for s in analogy.scores):
        scores = [s for s in analogy.scores if s.exclude_query == exclude]
        reading = "query class left out" if exclude else "every class a candidate (the paper's reading)"
        lines.append(f"analogy test, {reading}, chance {percent(scores[0].chance)}:")
        lines += [
            f"  {s.vectors}{f' ({s.subset})' if s.subset else ''}: {percent(s.accuracy)} of {s.count} tests"
            for s in scores
        ]
    return lines


def headline_text(
    zsl: ZslSummary | None, wordnet: WordNetResult | None, analogy: AnalogyResult | None, findings: bool = True
) -> str:
    """The headline figures as a few plain-text lines (zero-shot top-1, analogy readings, WordNet), then what
    the run found (the report's findings), one per line."""
    lines = _zsl_lines(zsl) if zsl is not None else []
    if analogy is not None:
        lines += _analogy_lines(analogy)
    if wordnet is not None:
        lines.append(
            "WordNet Spearman ρ: " + ", ".join(f"{k} {rho(v)}" for k, v in wordnet.spearman_by.items() if v == v)
        )
    found = run_findings(zsl, wordnet, analogy) if findings else []
    if found:
        lines += ["found:"] + [f"- {f.text}" for f in found]
    return "\n".join(lines)
