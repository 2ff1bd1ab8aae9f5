"""Result tables as data (:class:`Table`), and their Markdown and HTML forms.

The zero-shot table has the paper's layout (Table 1): rows = methods, columns = data sets, blocks = ratios,
values in % as mean ± std over splits, a chance row per block (top-k chance k/n) and a note saying which
features each method read. Every table gives accuracies in % with two decimals and correlations as
Spearman ρ (:mod:`action2vec.reports.numbers`).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from action2vec.evaluation.results import AnalogyResult, BootstrapInterval, MeanStd, WordNetResult, ZslSummary
from action2vec.reports.numbers import percent_cell, rho
from action2vec.variants import title

__all__ = [
    "Row",
    "Table",
    "fmt_mean_std",
    "features_note",
    "zsl_table",
    "zsl_table_markdown",
    "comparison_table",
    "wordnet_table",
    "grouping_table",
    "analogy_table",
    "table_markdown",
    "table_html",
    "md_cell",
]


@dataclass
class Row:
    """One table row: plain cell texts; a ``block`` row starts a group and holds only its name."""

    cells: list[str]
    block: bool = False


@dataclass
class Table:
    """A table: header, rows and a note printed under it."""

    header: list[str]
    rows: list[Row] = field(default_factory=list)
    note: str = ""


def fmt_mean_std(cell: MeanStd | None, percent: bool = True) -> str:
    """MeanStd(0.2348, 0.012, n=10) -> ``"23.48 ± 1.20"`` (``"-"`` when missing or NaN; no ± for one split)."""
    if cell is None or cell.mean is None or math.isnan(cell.mean):
        return "-"
    scale = 100.0 if percent else 1.0
    text = f"{cell.mean * scale:.2f}"
    if cell.n > 1 and cell.std is not None:
        text += f" ± {cell.std * scale:.2f}"
    return text


def features_note(summary: ZslSummary) -> str:
    """Which features each method read, per data set (``"Features: Pooled features + KRR (Laplacian): pooled
    c3d fc7 (4096-d) (ucf101)."``); "" when the summary does not record it."""
    parts = []
    for variant in summary.variants:
        used = {name: ds.features.get(variant) for name, ds in summary.datasets.items()}
        text = ", ".join(f"{feat} ({name})" for name, feat in used.items() if feat)
        if text:
            parts.append(f"{title(variant)}: {text}")
    return "Features: " + "; ".join(parts) + "." if parts else ""


def _fewer_classes_than_k(summary: ZslSummary, dataset: str, ratio: str, metric: str) -> bool:
    """Whether ``metric`` is a top-k whose split has fewer than k test classes (top-1 chance 1/n above 1/k)."""
    if not metric.startswith("top") or not metric[3:].isdigit():
        return False
    chance = summary.chance(dataset, ratio, "top1")
    return chance is not None and chance == chance and chance * int(metric[3:]) > 1 + 1e-9


def zsl_table(summary: ZslSummary, metric: str = "top1") -> Table:
    """The paper-layout table of one metric: a block per ratio, a row per method, then the chance row."""
    datasets = list(summary.datasets)
    table = Table(["split / variant", *datasets], note=features_note(summary))
    unmeasured = False
    for ratio in summary.ratios():
        table.rows.append(Row([ratio] + [""] * len(datasets), block=True))
        for variant in summary.variants:
            cells = [fmt_mean_std(summary.cell(ds, variant, ratio).get(metric)) for ds in datasets]
            unmeasured |= any(
                c == "-" and _fewer_classes_than_k(summary, ds, ratio, metric) for c, ds in zip(cells, datasets)
            )
            table.rows.append(Row([title(variant, summary.transductive), *cells]))
        chance = [summary.chance(ds, ratio, metric) for ds in datasets]
        table.rows.append(Row(["chance"] + [percent_cell(c) for c in chance]))
    if unmeasured:
        k = metric[3:]
        table.note = (
            f"-: fewer than {k} test classes in that split, where top-{k} accuracy is always 100 % and is "
            f"not measured. {table.note}"
        ).strip()
    return table


def _signed_points(value: float) -> str:
    return "-" if value != value else f"{100 * value:+.2f}"


def comparison_table(summary: ZslSummary, metric: str = "top1") -> Table:
    """The paired comparisons of one metric: per pair, data set and ratio, the mean difference over the splits
    both ran on (points), its interval, the test's p, n and the verdict the test gives."""
    rows = []
    for c in summary.comparisons:
        if c.metric != metric:
            continue
        p = "-" if c.p != c.p else f"{c.p:.3f}"
        interval = "-" if c.low != c.low else f"{_signed_points(c.low)} to {_signed_points(c.high)}"
        rows.append(
            Row(
                [
                    f"{title(c.a, summary.transductive)} − {title(c.b, summary.transductive)}",
                    c.dataset,
                    c.ratio,
                    _signed_points(c.difference),
                    interval,
                    p,
                    str(c.n),
                    c.verdict,
                ]
            )
        )
    first = next((c for c in summary.comparisons if c.metric == metric), None)
    note = ""
    if first is not None:
        note = (
            f"{metric}, paired over the splits both methods ran on; difference in percentage points; "
            f"{round(100 * first.confidence)} % interval: {first.interval}; p: two-sided {first.test.split(',')[0]} "
            "(zero differences dropped; with n splits the smallest exact p is 2/2^n, 0.0625 for 5). The verdict "
            "comes from p < 0.05 alone."
        )
    return Table(
        ["comparison", "data set", "ratio", "difference (points)", "interval (points)", "p", "splits", "verdict"],
        rows,
        note,
    )


def _interval(i: BootstrapInterval | None) -> str:
    return "-" if i is None or i.n == 0 or i.low != i.low else f"{i.low:.3f} to {i.high:.3f}"


def wordnet_table(wn: WordNetResult) -> Table:
    """Spearman ρ of each set of class vectors with Wu-Palmer: mean and standard deviation over rows, the
    bootstrap interval over rows; then each difference between the first set and another on the same rows."""
    rows = [
        Row([name, rho(value), rho(wn.spearman_std.get(name)), _interval(wn.intervals.get(name))])
        for name, value in wn.spearman_by.items()
    ]
    rows += [
        Row([f"{d.a} − {d.b} (same rows)", f"{d.interval.mean:+.3f}", "", _interval(d.interval)])
        for d in wn.differences
    ]
    note = f"{wn.n_classes} classes found in WordNet; one row per class, its similarities with the others."
    first = next(iter(wn.intervals.values()), None)
    if first is not None:
        note += (
            f" Interval: 95 % percentile bootstrap over the rows (classes), {first.resamples} resamples, "
            f"seed {first.seed}; a difference whose interval excludes 0 is one at 5 %."
        )
    if wn.features and "pooled" in wn.spearman_by:
        note += f" The pooled row read {wn.features}."
    if wn.left_out:
        note += f" Left out ({len(wn.left_out)}): " + "; ".join(f"{k}: {v}" for k, v in wn.left_out.items()) + "."
    return Table(["class vectors", "Spearman ρ (mean over rows)", "std over rows", "95 % interval"], rows, note)


def grouping_table(wn: WordNetResult) -> Table:
    """For each set of class vectors: how often the nearest other class shares the verb or the noun (%)."""
    sets = [*wn.grouping.items(), *((f"{name}, t-SNE map (2-D)", g) for name, g in wn.map_grouping.items())]
    rows = [
        Row(
            [
                name,
                percent_cell(g.verb.rate),
                percent_cell(g.verb.chance),
                percent_cell(g.noun.rate),
                percent_cell(g.noun.chance),
                g.groups_by,
            ]
        )
        for name, g in sets
    ]
    n = next(iter(wn.grouping.values())).verb.n if wn.grouping else 0
    note = (
        f"Nearest other class by cosine in the vectors' own space, over all {n} classes; chance: a neighbour "
        "drawn at random among the other classes."
    )
    if wn.map_grouping:
        note += " The t-SNE map's row: nearest class in the 2-D layout of the figure."
    return Table(
        ["class vectors", "same verb (%)", "chance (%)", "same noun (%)", "chance (%)", "groups by"], rows, note
    )


def analogy_table(an: AnalogyResult) -> Table:
    """Every scored reading of the analogy test: class vectors, tests, candidates, accuracy and chance (%)."""
    rows = [
        Row(
            [
                s.vectors + (f" ({s.subset})" if s.subset else ""),
                str(s.count),
                "left out" if s.exclude_query else "a candidate (paper)",
                percent_cell(s.accuracy),
                percent_cell(s.chance),
            ]
        )
        for s in an.scores
    ]
    note = f"{an.metric} distance; vectors {'unit-normalised' if an.normalize else 'raw'}."
    return Table(["class vectors", "tests", "query class", "accuracy (%)", "chance (%)"], rows, note)


def zsl_table_markdown(summary: ZslSummary, metric: str = "top1") -> str:
    """The paper-layout table as Markdown (values in %, mean ± std over splits), with its features note."""
    return table_markdown(zsl_table(summary, metric))


def md_cell(text: str) -> str:
    """A table cell's text with the characters that would end it or its row escaped."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table_markdown(table: Table) -> str:
    """A table as Markdown (block rows in bold), its note under it."""
    lines = ["| " + " | ".join(map(md_cell, table.header)) + " |", "|" + "---|" * len(table.header)]
    for row in table.rows:
        cells = [md_cell(c) for c in row.cells]
        cells = [f"**{cells[0]}**", *cells[1:]] if row.block else cells
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    return text + (f"\n{table.note}\n" if table.note else "")


def table_html(table: Table) -> str:
    """A table as HTML (block rows as bold header cells across the row), its note under it."""
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.header) + "</tr>"]
    for row in table.rows:
        if row.block:
            out.append(f'<tr class="block"><th colspan="{len(table.header)}">{html.escape(row.cells[0])}</th></tr>')
        else:
            out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row.cells) + "</tr>")
    out.append("</table>")
    if table.note:
        out.append(f'<p class="note">{html.escape(table.note)}</p>')
    return "\n".join(out)
