"""``report.md``, a self-contained ``report.html`` (images embedded as base64) and ``report.json``
from what a run folder holds: result JSON files tagged with ``"kind"`` (``zsl``, ``wordnet``,
``analogy``), pictures under ``figures/`` and Lightning ``metrics.csv`` training logs.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from pathlib import Path
from typing import Any

from action2vec.errors import DataError
from action2vec.io import write_json
from action2vec.reports.tables import _markdown, chance_level, features_note, table_html, zsl_table_rows

log = logging.getLogger(__name__)

__all__ = ["collect_results", "build_report"]

KINDS = ("zsl", "wordnet", "analogy")


def collect_results(run_dir: str | Path) -> dict[str, Any]:
    """Results found in a run folder: ``{"zsl": ..., "wordnet": ..., "analogy": ..., "figures": [png...],
    "training_logs": [metrics.csv ...]}`` (the first file of each kind, shallowest first)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run folder not found: {run_dir}")
    found: dict[str, Any] = {}
    files = sorted(run_dir.rglob("*.json"), key=lambda p: (len(p.relative_to(run_dir).parts), str(p)))
    for path in files:
        if path.name.startswith("report"):
            continue
        try:
            doc = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            continue
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind in KINDS and kind not in found:
            found[kind] = doc
            found.setdefault("sources", {})[kind] = str(path.relative_to(run_dir))
    found["figures"] = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*.png"))
    found["training_logs"] = sorted(
        (str(p.relative_to(run_dir)) for p in run_dir.rglob("metrics.csv")), key=lambda s: (s.count("/"), s)
    )
    return found


def _training_curves(run_dir: Path, results: dict) -> None:
    """Draw the training curves of the first training log, once."""
    if not results["training_logs"]:
        return
    target = run_dir / "figures" / "training_curves"
    if target.with_suffix(".png").exists():
        return
    from action2vec.reports.plots import plot_training_curves, save_figure

    try:
        save_figure(plot_training_curves(run_dir / results["training_logs"][0]), target)
        results["figures"].append(str(target.with_suffix(".png").relative_to(run_dir)))
    except DataError as exc:
        log.warning("no training curves: %s", exc)


def _sections(results: dict) -> list[tuple[str, list[str], list[list[str]] | None, str]]:
    """(title, header, rows, note) of each table in the report."""
    out = []
    zsl = results.get("zsl")
    if zsl:
        header, rows = zsl_table_rows(zsl, "top1")
        out.append(("Zero-shot top-1 accuracy (%), mean ± std over splits", header, rows,
                    f"{zsl.get('n_splits', '?')} splits per ratio; variants: {', '.join(zsl.get('variants', []))}. "
                    + features_note(zsl)))
        for metric, title in (("top5", "top-5"), ("mean_class_acc", "mean per-class accuracy"), ("gzsl_harmonic", "GZSL harmonic mean")):
            header, rows = zsl_table_rows(zsl, metric)
            if any(c not in ("", "-") for r in rows if r[0] != "chance" for c in r[1:]):
                out.append((f"Zero-shot {title} (%)", header, rows, ""))
    wn = results.get("wordnet")
    if wn:
        rows = [[name, f"{value:.4f}" if value is not None else "-"] for name, value in wn.get("spearman_by", {}).items()]
        out.append(("WordNet test: Spearman rank correlation with Wu-Palmer (mean over rows)",
                    ["embedding", "Spearman"], rows, f"{wn.get('n_classes')} classes found in WordNet."))
    an = results.get("analogy")
    if an:
        def num(value: Any) -> str:
            return "-" if value is None else f"{value:.4f}"

        rows = [[s["vectors"] + (f" ({s['subset']})" if s.get("subset") else ""), str(s.get("count")),
                 "left out" if s.get("exclude_query", True) else "a candidate (paper)", num(s.get("accuracy")),
                 num(s.get("chance"))] for s in analogy_scores(an)]
        out.append(("Vector-arithmetic analogy test", ["class vectors", "tests", "query class", "accuracy", "chance"],
                    rows, f"metric: {an.get('metric')}; vectors "
                    f"{'unit-normalised' if an.get('normalize', True) else 'raw'}; the examples below are of the "
                    f"first row's reading."))
        if an.get("examples"):
            ex_rows = [[e["query"], e["minus"], e["plus"], e["nearest"], "yes" if e["correct"] else "no"] for e in an["examples"]]
            out.append(("Analogy examples", ["query", "−", "+", "nearest", "correct"], ex_rows, ""))
    return out


def analogy_scores(an: dict[str, Any]) -> list[dict[str, Any]]:
    """Every reading an analogy result holds (``scores``); files written before the readings switch (query
    class left out, with the demo's ``text_only`` / ``zero_shot_model`` comparisons) are read as such."""
    if an.get("scores"):
        return list(an["scores"])
    base = {"subset": "", "exclude_query": True, "normalize": an.get("normalize", True), "count": an.get("count"),
            "chance": an.get("chance")}
    out = [{**base, "vectors": an.get("class_vectors", "class vectors"), "correct": an.get("correct"),
            "accuracy": an.get("accuracy")}]
    if isinstance(an.get("text_only"), dict):
        out.append({**base, "vectors": "text", "correct": an["text_only"].get("correct"),
                    "accuracy": an["text_only"].get("accuracy")})
    zs = an.get("zero_shot_model")
    if isinstance(zs, dict):
        name = f"action2vec, model of split {zs.get('split', '?')}"
        out.append({**base, "vectors": name, "correct": None, "accuracy": zs.get("accuracy")})
        out.append({**base, "vectors": name, "subset": "between its unseen classes", "count": zs.get("unseen_count"),
                    "correct": None, "accuracy": zs.get("unseen_accuracy"), "chance": None})
    return out


def zsl_headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The first data set's first ratio as ``{"hrnn_attention": {"top1": mean, ...}, "pooled_krr": {...},
    "chance": float, "dataset", "ratio"}`` (other variants under their own names)."""
    if not summary.get("datasets"):
        return {}
    dataset, ds = next(iter(summary["datasets"].items()))
    ratio = next(iter(ds.get("chance", {})), None)
    if ratio is None:
        return {}
    out: dict[str, Any] = {"dataset": dataset, "ratio": ratio, "chance": chance_level(ds, ratio, "top1")}
    for variant, by_ratio in ds["results"].items():
        if ratio in by_ratio:
            out[variant] = {m: cell["mean"] for m, cell in by_ratio[ratio].items()}
    return out


def build_report(run_dir: str | Path, title: str | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``report.json`` into ``run_dir``; returns their paths."""
    run_dir = Path(run_dir)
    results = collect_results(run_dir)
    _training_curves(run_dir, results)
    if not any(k in results for k in KINDS) and not results["figures"]:
        raise DataError(f"{run_dir}: nothing to report (no zsl/wordnet/analogy results, no figures)")
    title = title or f"Action2Vec report: {run_dir.name}"
    sections = _sections(results)

    md = [f"# {title}", ""]
    body = [f"<h1>{html.escape(title)}</h1>"]
    for name, header, rows, note in sections:
        md += [f"## {name}", "", _markdown(header, rows or [])]
        body += [f"<h2>{html.escape(name)}</h2>", table_html(header, rows or [])]
        if note:
            md += [note, ""]
            body.append(f"<p>{html.escape(note)}</p>")
    if results["figures"]:
        md += ["## Figures", ""]
        body.append("<h2>Figures</h2>")
        for rel in results["figures"]:
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

    paths = {"md": run_dir / "report.md", "html": run_dir / "report.html", "json": run_dir / "report.json"}
    paths["md"].write_text("\n".join(md) + "\n")
    paths["html"].write_text(page)
    summary = {k: results[k] for k in KINDS if k in results}
    if "zsl" in summary:
        summary["zsl"] = {**zsl_headline(summary["zsl"]), **summary["zsl"]}
    summary.update({"title": title, "figures": results["figures"], "training_logs": results["training_logs"],
                    "sources": results.get("sources", {})})
    write_json(summary, paths["json"])
    log.info("report written: %s", paths["html"])
    return paths
