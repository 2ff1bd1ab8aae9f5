"""``report.md``, a self-contained ``report.html`` (images embedded as base64) and ``report.json`` from what a
run folder holds: result JSON files tagged with ``"kind"`` (``zsl``, ``wordnet``, ``analogy``; read as the
types of :mod:`action2vec.evaluation.results`, older files included), pictures under ``figures/`` and
Lightning ``metrics.csv`` training logs.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from action2vec.errors import DataError
from action2vec.evaluation.results import AnalogyResult, WordNetResult, ZslSummary, read_result
from action2vec.io import write_json
from action2vec.reports.headline import zsl_headline
from action2vec.reports.tables import Row, Table, table_html, table_markdown, zsl_table

log = logging.getLogger(__name__)

__all__ = ["RunResults", "collect_results", "report_tables", "build_report"]

KINDS = ("zsl", "wordnet", "analogy")


@dataclass
class RunResults:
    """What a run folder holds (the first result of each kind, shallowest first)."""

    zsl: ZslSummary | None = None
    wordnet: WordNetResult | None = None
    analogy: AnalogyResult | None = None
    figures: list[str] = field(default_factory=list)  # PNG paths relative to the folder
    training_logs: list[str] = field(default_factory=list)  # metrics.csv paths relative to the folder
    sources: dict[str, str] = field(default_factory=dict)  # kind -> the file it came from


def collect_results(run_dir: str | Path) -> RunResults:
    """The results found in a run folder; a result file of a known kind that does not read is a DataError."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run folder not found: {run_dir}")
    found = RunResults()
    files = sorted(run_dir.rglob("*.json"), key=lambda p: (len(p.relative_to(run_dir).parts), str(p)))
    for path in files:
        if path.name.startswith("report"):
            continue
        try:
            doc = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            continue
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind in KINDS and getattr(found, kind) is None:
            setattr(found, kind, read_result(doc, str(path)))
            found.sources[kind] = str(path.relative_to(run_dir))
    found.figures = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*.png"))
    found.training_logs = sorted((str(p.relative_to(run_dir)) for p in run_dir.rglob("metrics.csv")),
                                 key=lambda s: (s.count("/"), s))
    return found


def _training_curves(run_dir: Path, results: RunResults) -> None:
    """Draw the training curves of the first training log, once."""
    if not results.training_logs:
        return
    target = run_dir / "figures" / "training_curves"
    if target.with_suffix(".png").exists():
        return
    from action2vec.reports.plots import plot_training_curves, save_figure

    try:
        save_figure(plot_training_curves(run_dir / results.training_logs[0]), target)
        results.figures.append(str(target.with_suffix(".png").relative_to(run_dir)))
    except DataError as exc:
        log.warning("no training curves: %s", exc)


def _number(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.4f}"


def _zsl_tables(zsl: ZslSummary) -> list[tuple[str, Table]]:
    table = zsl_table(zsl, "top1")
    table.note = f"{zsl.n_splits} splits per ratio; methods: {', '.join(zsl.variants)}. {table.note}".strip()
    out = [("Zero-shot top-1 accuracy (%), mean ± std over splits", table)]
    for metric, name in (("top5", "top-5"), ("mean_class_acc", "mean per-class accuracy"), ("gzsl_harmonic", "GZSL harmonic mean")):
        if any(zsl.cell(ds, v, r).get(metric) for ds in zsl.datasets for v in zsl.variants for r in zsl.ratios()):
            out.append((f"Zero-shot {name} (%)", zsl_table(zsl, metric)))
    return out


def _wordnet_table(wn: WordNetResult) -> Table:
    return Table(["embedding", "Spearman"], [Row([name, _number(value)]) for name, value in wn.spearman_by.items()],
                 f"{wn.n_classes} classes found in WordNet.")


def _analogy_tables(an: AnalogyResult) -> list[tuple[str, Table]]:
    rows = [Row([s.vectors + (f" ({s.subset})" if s.subset else ""), str(s.count),
                 "left out" if s.exclude_query else "a candidate (paper)", _number(s.accuracy), _number(s.chance)])
            for s in an.scores]
    note = (f"metric: {an.metric}; vectors {'unit-normalised' if an.normalize else 'raw'}; the examples below are of "
            f"the first row's reading.")
    out = [("Vector-arithmetic analogy test", Table(["class vectors", "tests", "query class", "accuracy", "chance"],
                                                    rows, note))]
    if an.examples:
        ex = [Row([e.query, e.minus, e.plus, e.nearest, "yes" if e.correct else "no"]) for e in an.examples]
        out.append(("Analogy examples", Table(["query", "−", "+", "nearest", "correct"], ex)))
    return out


def report_tables(results: RunResults) -> list[tuple[str, Table]]:
    """(title, table) of every table in the report, in order."""
    out = _zsl_tables(results.zsl) if results.zsl else []
    if results.wordnet:
        out.append(("WordNet test: Spearman rank correlation with Wu-Palmer (mean over rows)", _wordnet_table(results.wordnet)))
    if results.analogy:
        out += _analogy_tables(results.analogy)
    return out


def _pages(run_dir: Path, title: str, results: RunResults) -> tuple[str, str]:
    """The Markdown and the self-contained HTML of the report."""
    md = [f"# {title}", ""]
    body = [f"<h1>{html.escape(title)}</h1>"]
    for name, table in report_tables(results):
        md += [f"## {name}", "", table_markdown(table)]
        body += [f"<h2>{html.escape(name)}</h2>", table_html(table)]
    if results.figures:
        md += ["## Figures", ""]
        body.append("<h2>Figures</h2>")
        for rel in results.figures:
            caption = Path(rel).stem.replace("_", " ")
            md += [f"![{caption}]({rel})", ""]
            data = base64.b64encode((run_dir / rel).read_bytes()).decode("ascii")
            body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
                        f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%}")
    page = (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    return "\n".join(md) + "\n", page


def build_report(run_dir: str | Path, title: str | None = None, extra: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``report.json`` into ``run_dir``; returns their paths.

    report.json holds every result in its JSON form (the zero-shot summary led by its headline figures), the
    figures, the training logs and ``extra`` (e.g. the demo's timings and configuration).
    """
    run_dir = Path(run_dir)
    results = collect_results(run_dir)
    _training_curves(run_dir, results)
    if not any(getattr(results, k) for k in KINDS) and not results.figures:
        raise DataError(f"{run_dir}: nothing to report (no zsl/wordnet/analogy results, no figures)")
    title = title or f"Action2Vec report: {run_dir.name}"
    md, page = _pages(run_dir, title, results)
    paths = {"md": run_dir / "report.md", "html": run_dir / "report.html", "json": run_dir / "report.json"}
    paths["md"].write_text(md)
    paths["html"].write_text(page)
    summary: dict[str, Any] = {}
    if results.zsl:
        summary["zsl"] = {**zsl_headline(results.zsl), **results.zsl.to_json()}
    summary.update({k: getattr(results, k).to_json() for k in ("wordnet", "analogy") if getattr(results, k)})
    summary.update({"title": title, "figures": results.figures, "training_logs": results.training_logs,
                    "sources": results.sources, **(extra or {})})
    write_json(summary, paths["json"])
    log.info("report written: %s", paths["html"])
    return paths
