"""``report.md``, a self-contained ``report.html`` (images embedded as base64) and ``report.json`` from what a
run folder holds: result JSON files tagged with ``"kind"`` (``zsl``, ``wordnet``, ``analogy``; read as the
types of :mod:`action2vec.evaluation.results`, older files included), pictures under ``figures/``, Lightning
``metrics.csv`` training logs and model folders.

One data model (:class:`ReportPage`: what the run found, its data and settings, and sections of tables with
the figures that illustrate them) feeds both pages, each from a jinja2 template under ``reports/templates/``.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from action2vec.errors import DataError
from action2vec.evaluation.results import AnalogyResult, WordNetResult, ZslSummary, read_result
from action2vec.io import read_json, write_json
from action2vec.model_folder import CONFIG_FILE, ModelInfo
from action2vec.reports.findings import Finding, run_findings, vectors_name
from action2vec.reports.headline import zsl_headline
from action2vec.reports.numbers import plain
from action2vec.reports.plots import analogy_figure_stem
from action2vec.reports.settings import Setting, data_and_settings
from action2vec.reports.tables import (
    Row,
    Table,
    analogy_table,
    comparison_table,
    grouping_table,
    md_cell,
    table_html,
    table_markdown,
    wordnet_table,
    zsl_table,
)
from action2vec.run_folder import RESULT_FILE, read_metrics_csv, read_train_result, read_training_log
from action2vec.variants import title

log = logging.getLogger(__name__)

__all__ = [
    "RunResults",
    "ReportFigure",
    "Block",
    "Section",
    "ReportPage",
    "collect_results",
    "build_page",
    "render_html",
    "render_markdown",
    "build_report",
]

KINDS = ("zsl", "wordnet", "analogy")
SECTION_OF = {"grouping": "wordnet"}  # a finding's topic -> the section it stands in (else the same name)


@dataclass
class RunResults:
    """What a run folder holds (the first result of each kind, shallowest first)."""

    zsl: ZslSummary | None = None
    wordnet: WordNetResult | None = None
    analogy: AnalogyResult | None = None
    figures: list[str] = field(default_factory=list)  # PNG paths relative to the folder
    training_logs: list[str] = field(default_factory=list)  # metrics.csv paths relative to the folder
    sources: dict[str, str] = field(default_factory=dict)  # kind -> the file it came from


@dataclass
class ReportFigure:
    """A picture of the run folder and the caption that says what it shows."""

    path: str  # PNG, relative to the run folder
    caption: str


@dataclass
class Block:
    """Tables and the sentences that read them, with the figures that illustrate them: ``beside`` the tables,
    or ``below`` them at the page's width (wide figures, or several)."""

    tables: list[tuple[str, Table]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    figures: list[ReportFigure] = field(default_factory=list)
    layout: str = "beside"
    note: str = ""  # under the tables, about all of them


@dataclass
class Section:
    """One part of the report: ``key`` is its anchor (``zsl``, ``wordnet``, ``analogy``, ``training``, ``figures``)."""

    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class ReportPage:
    """Everything the report shows, in order; the HTML and Markdown templates render it."""

    title: str
    findings: list[Finding]
    settings: list[Setting]
    sections: list[Section]


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
    found.figures = sorted(
        (str(p.relative_to(run_dir)) for p in run_dir.rglob("*.png")), key=lambda s: (s.count("/"), s)
    )
    found.training_logs = sorted(
        (str(p.relative_to(run_dir)) for p in run_dir.rglob("metrics.csv")),
        key=lambda s: (s.count("/"), _method_rank(s, found.zsl), s),
    )
    return found


def _method_rank(log_path: str, zsl: ZslSummary | None) -> int:
    """Where the method whose training wrote ``log_path`` (``.../<method>/train/logs/...``) stands in the
    zero-shot summary's order, so that the curves shown are of its first method."""
    parts = Path(log_path).parts
    variants = zsl.variants if zsl else []
    return next((i for i, v in enumerate(variants) if v in parts), len(variants))


def _training_curves(run_dir: Path, results: RunResults) -> None:
    """Draw the training curves of the first training run (every segment of a resumed one), again whenever its
    logs are newer than the picture."""
    if not results.training_logs:
        return
    from action2vec.reports import plots

    first = run_dir / results.training_logs[0]
    lightning = first.parent.name.startswith("version_") and first.parents[1].name == "csv"
    train_dir = first.parents[3] if lightning else None  # TRAIN/logs/csv/version_N/metrics.csv: every segment
    logs = list((train_dir / "logs" / "csv").glob("version_*/metrics.csv")) if train_dir else [first]
    png = run_dir / "figures" / "training_curves.png"
    if png.exists() and all(p.stat().st_mtime <= png.stat().st_mtime for p in logs):
        return
    try:
        rows = read_training_log(train_dir) if train_dir else read_metrics_csv(first)
        plots.save_figure(plots.plot_training_curves(rows, str(first.parent)), png.with_suffix(""))
        rel = str(png.relative_to(run_dir))
        if rel not in results.figures:
            results.figures.append(rel)
    except DataError as exc:
        log.warning("no training curves: %s", exc)


class _Figures:
    """The run's pictures by name (file stem), each taken once."""

    def __init__(self, paths: list[str]) -> None:
        self.by_stem: dict[str, str] = {}
        for rel in paths:
            self.by_stem.setdefault(Path(rel).stem, rel)
        self.used: set[str] = set()

    def take(self, stem: str, caption: str) -> list[ReportFigure]:
        rel = self.by_stem.get(stem)
        if rel is None or rel in self.used:
            return []
        self.used.add(rel)
        return [ReportFigure(rel, caption)]

    def left(self) -> list[str]:
        return [rel for rel in self.by_stem.values() if rel not in self.used]


def _same_as_top1(zsl: ZslSummary) -> str:
    """Why the mean per-class table equals the top-1 table, when it does on every split (computed from the runs)."""
    pairs = [
        (r.metrics["top1"], r.metrics["mean_class_acc"])
        for r in zsl.runs
        if "top1" in r.metrics and "mean_class_acc" in r.metrics
    ]
    if pairs and all(abs(a - b) < 1e-9 for a, b in pairs):
        return (
            f"Mean per-class accuracy equals top-1 on all {len(pairs)} (split, method) results, as it must when "
            "every unseen class has the same number of test videos (balanced test sets)."
        )
    if pairs:
        differ = sum(abs(a - b) >= 1e-9 for a, b in pairs)
        return (
            f"Mean per-class accuracy differs from top-1 on {differ} of {len(pairs)} results: their test sets "
            "have unequal numbers of videos per class."
        )
    return ""


def _zsl_section(zsl: ZslSummary, findings: list[Finding], figures: _Figures) -> Section:
    table = zsl_table(zsl, "top1")
    note = (
        f"Accuracies on the unseen classes' test videos in %, mean ± standard deviation over "
        f"{zsl.n_splits} split{'s' if zsl.n_splits != 1 else ''} per ratio. {table.note}"
    ).strip()
    table.note = ""
    tables = [("Top-1 accuracy (%)", table)]
    for metric, name in (
        ("top5", "top-5"),
        ("mean_class_acc", "mean per-class accuracy"),
        ("gzsl_harmonic", "GZSL harmonic mean"),
    ):
        if any(zsl.cell(ds, v, r).get(metric) for ds in zsl.datasets for v in zsl.variants for r in zsl.ratios()):
            extra = zsl_table(zsl, metric)
            extra.note = _same_as_top1(zsl) if metric == "mean_class_acc" else ""
            tables.append((f"{name[:1].upper()}{name[1:]} (%)", extra))
    paired = comparison_table(zsl, "top1")
    if paired.rows:
        tables.append(("Paired comparisons, top-1 (same splits)", paired))
    pictures = []
    for ds in zsl.datasets:
        for variant in zsl.variants:
            first = next((r for r in zsl.runs if r.dataset == ds and r.variant == variant), None)
            where = f"split {first.split}" if first else "its first split"
            pictures += figures.take(
                f"confusion_{ds}_{variant}",
                f"Unseen-class confusion of {title(variant, zsl.transductive)} on {ds}, {where}: rows are the true "
                "classes, columns the predicted ones; each row is the fraction of its class's test videos.",
            )
    block = Block(
        tables, [f for f in findings if f.topic == "zsl"], pictures, "beside" if len(pictures) <= 1 else "below", note
    )
    return Section("zsl", "Zero-shot recognition", [block])


def _wordnet_section(wn: WordNetResult, findings: list[Finding], figures: _Figures) -> Section:
    names = ", ".join(wn.spearman_by)
    heat = figures.take(
        "wordnet_heatmaps",
        f"Similarity of the {wn.n_classes} classes found in WordNet: the Wu-Palmer similarity of their WordNet lemmas "
        f"beside the cosine similarity of each set of class vectors ({names}). Rows and columns in the same order "
        "(clustered on Wu-Palmer); one colour scale for every panel; the diagonal is left blank.",
    )
    blocks = [
        Block(
            [("WordNet test: Spearman ρ of each class's similarities with Wu-Palmer's", wordnet_table(wn))],
            [f for f in findings if f.topic == "wordnet"],
            heat,
            "below",
        )
    ]
    key = next(iter(wn.grouping), None) or next(
        (Path(p).stem[5:] for p in figures.by_stem if p.startswith("tsne_")), None
    )
    n = wn.n_classes_given or wn.n_classes
    tsne = (
        figures.take(
            f"tsne_{key}",
            f"t-SNE of {vectors_name(key)} of all {n} classes (colour: verb, marker: noun); "
            "the layout is for the eye; the table measures the grouping in the vectors' own space.",
        )
        if key
        else []
    )
    if wn.grouping or tsne:
        layout = "beside" if n <= 30 else "below"  # a map of many classes needs the page's width
        tables = (
            [("Class structure: is the nearest other class of the same verb or noun?", grouping_table(wn))]
            if wn.grouping
            else []
        )
        blocks.append(Block(tables, [f for f in findings if f.topic == "grouping"], tsne, layout))
    return Section("wordnet", "WordNet test and class structure", blocks)


def _analogy_section(an: AnalogyResult, findings: list[Finding], figures: _Figures) -> Section:
    reading = "query class left out" if an.exclude_query else "every class a candidate"
    examples = figures.take(
        "analogy_examples",
        f"Examples of the analogy test on the {an.class_vectors or 'class'} vectors ({reading}): a class minus its "
        "noun plus another noun, and the nearest class; green when it is the expected class, red otherwise.",
    )
    for vectors in dict.fromkeys(s.vectors for s in an.scores if s.vectors not in (an.class_vectors, "text")):
        examples += figures.take(
            analogy_figure_stem(vectors),
            f"Examples of the analogy test on the class means of the {vectors.removeprefix('action2vec, ')} "
            f"({reading}), beside those of {an.class_vectors or 'the main'} vectors.",
        )
    table = analogy_table(an)
    return Section(
        "analogy",
        "Vector-arithmetic analogy test",
        [
            Block(
                [("Analogy test: accuracy of each set of class vectors in each reading", table)],
                [f for f in findings if f.topic == "analogy"],
                examples,
                "beside",
            )
        ],
    )


def _training_run(run_dir: Path, log_path: str) -> Path | None:
    """The training run folder that wrote a metrics.csv (``RUN/logs/csv/version_k/metrics.csv``)."""
    for parent in (run_dir / log_path).parents:
        if (parent / RESULT_FILE).is_file() and (parent / "logs").is_dir():
            return parent
        if parent == run_dir:
            break
    return None


def _model_rows(model_dir: Path) -> list[Row]:
    """The method and training videos of a training run's model folder (none when it has no readable one)."""
    if not (model_dir / CONFIG_FILE).is_file():
        return []
    try:
        info = ModelInfo.from_json(read_json(model_dir / CONFIG_FILE, "model config"), model_dir / CONFIG_FILE)
    except DataError as exc:
        log.warning("model config not read: %s", exc)
        return []
    return [Row(["method", title(info.model.variant)]), Row(["training videos", str(info.data.train_videos)])]


def _training_section(run_dir: Path, results: RunResults, figures: _Figures) -> Section | None:
    if not results.training_logs:
        return None
    folder = _training_run(run_dir, results.training_logs[0])
    rel = str(folder.relative_to(run_dir)) if folder else str(Path(results.training_logs[0]).parent)
    rows: list[Row] = [Row(["run folder", rel or "."])]
    if folder is not None:
        try:
            train = read_train_result(folder)
        except DataError as exc:
            log.warning("training result not read: %s", exc)
        else:
            rows += _model_rows(folder / "model")
            rows += [Row(["classes", str(len(train.classes))]), Row(["steps", str(train.global_step)])]
            rows += [
                Row([f"final {k.removesuffix('_epoch')}", plain(v)])
                for k, v in train.metrics.items()
                if k.endswith("_epoch")
            ]
    curves = figures.take(
        "training_curves",
        f"Training curves of the run in {rel or 'the run folder'}: each "
        "logged loss term and the CE weight λ per step (step values and epoch means).",
    )
    block = Block([("Training run", Table(["what", "value"], rows))], [], curves, "below")
    return Section("training", "Training", [block])


def build_page(run_dir: str | Path, results: RunResults, title_text: str) -> ReportPage:
    """The report's data model from a run folder's results."""
    run_dir = Path(run_dir)
    findings = run_findings(results.zsl, results.wordnet, results.analogy)
    figures = _Figures(results.figures)
    sections = []
    if results.zsl:
        sections.append(_zsl_section(results.zsl, findings, figures))
    if results.wordnet:
        sections.append(_wordnet_section(results.wordnet, findings, figures))
    if results.analogy:
        sections.append(_analogy_section(results.analogy, findings, figures))
    training = _training_section(run_dir, results, figures)
    if training:
        sections.append(training)
    left = [ReportFigure(rel, f"A figure found in the run folder ({rel}).") for rel in figures.left()]
    if left:
        sections.append(Section("figures", "Other figures", [Block(figures=left, layout="below")]))
    settings = data_and_settings(run_dir, results.zsl, results.wordnet, results.analogy)
    return ReportPage(title_text, findings, settings, sections)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("action2vec.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["table_html"] = lambda t: markupsafe.Markup(table_html(t))
    env.filters["table_markdown"] = table_markdown
    env.filters["md_cell"] = md_cell
    return env


def render_html(page: ReportPage, run_dir: str | Path) -> str:
    """The self-contained HTML page: its PNG figures embedded as data URIs, no network needed."""
    run_dir = Path(run_dir)

    def embed(rel: str) -> str:
        return "data:image/png;base64," + base64.b64encode((run_dir / rel).read_bytes()).decode("ascii")

    return _environment().get_template("report.html.j2").render(page=page, embed=embed, section_of=SECTION_OF)


def render_markdown(page: ReportPage) -> str:
    """The Markdown page: figures linked by their paths in the run folder."""
    return _environment().get_template("report.md.j2").render(page=page)


def build_report(run_dir: str | Path, title: str | None = None, extra: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``report.json`` into ``run_dir``; returns their paths.

    report.json holds every result in its JSON form (the zero-shot summary led by its headline figures), the
    findings, the data and settings, the figures, the training logs and ``extra`` (e.g. the demo's timings and
    configuration).
    """
    run_dir = Path(run_dir)
    results = collect_results(run_dir)
    _training_curves(run_dir, results)
    if not any(getattr(results, k) for k in KINDS) and not results.figures:
        raise DataError(f"{run_dir}: nothing to report (no zsl/wordnet/analogy results, no figures)")
    page = build_page(run_dir, results, title or f"Action2Vec report: {run_dir.name}")
    paths = {"md": run_dir / "report.md", "html": run_dir / "report.html", "json": run_dir / "report.json"}
    paths["md"].write_text(render_markdown(page))
    paths["html"].write_text(render_html(page, run_dir))
    summary: dict[str, Any] = {}
    if results.zsl:
        summary["zsl"] = {**zsl_headline(results.zsl), **results.zsl.to_json()}
    summary.update({k: getattr(results, k).to_json() for k in ("wordnet", "analogy") if getattr(results, k)})
    summary.update(
        {
            "title": page.title,
            "findings": [f.to_json() for f in page.findings],
            "settings": [{"topic": s.topic, "name": s.name, "value": s.value} for s in page.settings],
            "figures": results.figures,
            "training_logs": results.training_logs,
            "sources": results.sources,
            **(extra or {}),
        }
    )
    write_json(summary, paths["json"])
    log.info("report written: %s", paths["html"])
    return paths
