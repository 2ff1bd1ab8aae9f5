"""What a run found, as sentences computed from its results (never written by hand): whether Action2Vec beats
the pooled baseline (and the training-free text match, when it ran) over the zero-shot splits, whether its class
vectors correlate with WordNet more or less than the text vectors, whether they group by verb or by noun, and how
its analogy accuracy compares with the text vectors alone. Each :class:`Finding` carries the numbers its sentence
states (fractions, as in report.json).

    for f in run_findings(zsl, wordnet, analogy):
        print(f.topic, f.text)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from action2vec.evaluation.findings import paired_gap
from action2vec.evaluation.paired import BASELINE, TRAINING_FREE, bootstrap_difference, zsl_comparisons
from action2vec.evaluation.results import (
    SIGNIFICANCE,
    AnalogyResult,
    AnalogyScore,
    PairedComparison,
    WordNetResult,
    ZslSummary,
)
from action2vec.reports.numbers import percent, points, rho
from action2vec.variants import title

__all__ = [
    "Finding",
    "zsl_findings",
    "wordnet_finding",
    "grouping_finding",
    "analogy_findings",
    "run_findings",
    "vectors_name",
    "comparison_sentence",
    "BASELINE",
]

METRIC_NAMES = {"top1": "top-1 accuracy", "top5": "top-5 accuracy", "mean_class_acc": "mean per-class accuracy"}


@dataclass
class Finding:
    """One sentence of what a run found, the report section it belongs to and the numbers behind it."""

    topic: str  # "zsl", "wordnet", "grouping", "analogy": the section (and figure) it stands next to
    text: str
    values: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "text": self.text, "values": dict(self.values)}


def vectors_name(key: str) -> str:
    """How a sentence names a set of class vectors: ``action2vec`` -> "Action2Vec's class means"."""
    return {
        "action2vec": "Action2Vec's class means",
        "text": "the text vectors",
        "pooled": "the pooled features' class means",
    }.get(key, f"the {key} class vectors")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _main_method(summary: ZslSummary) -> str | None:
    """The Action2Vec method a finding compares with the baselines: the paper's model, else the first other
    trained one, else the training-free row (then compared with ``pooled_krr`` alone)."""
    if "hrnn_attention" in summary.variants:
        return "hrnn_attention"
    others = [v for v in summary.variants if v != BASELINE]
    return next((v for v in others if v != TRAINING_FREE), others[0] if others else None)


def _comparison(
    summary: ZslSummary, dataset: str, ratio: str, main: str, baseline: str, metric: str
) -> PairedComparison | None:
    """main against a baseline: the summary's paired comparison, else one computed from its per-split scores
    (files written before that comparison was stored); None when no split has both."""
    found = summary.comparison(main, baseline, dataset, ratio, metric)
    if found is None:
        found = next(
            (
                c
                for c in zsl_comparisons(summary, [(main, baseline)], metrics=(metric,))
                if (c.a, c.b, c.dataset, c.ratio) == (main, baseline, dataset, ratio)
            ),
            None,
        )
    return found if found is not None and found.n else None


def _p(value: float) -> str:
    return "-" if value != value else f"{value:.3f}" if value >= 0.001 else "< 0.001"


def comparison_sentence(where: str, c: PairedComparison, transductive: bool = False) -> str:
    """One paired comparison as a sentence whose verdict comes from its test, never from the means alone."""
    a, b = title(c.a, transductive), title(c.b, transductive)
    metric = METRIC_NAMES.get(c.metric, c.metric)
    if c.verdict in ("better", "worse"):
        text = f"{where}: {a} is {c.verdict} than {b} in {metric}"
    else:
        text = f"{where}: no significant difference at 5 % between {a} and {b} in {metric}"
    text += (
        f" ({percent(c.mean_a)} against {percent(c.mean_b)}; paired difference "
        f"{'+' if c.difference >= 0 else '−'}{points(c.difference)} over {c.n} split{'s' if c.n != 1 else ''}"
    )
    if c.n > 1:
        text += (
            f", {round(100 * c.confidence)} % interval {_signed(c.low)} to {_signed(c.high)} points "
            f"({c.interval}), {c.test} p = {_p(c.p)}; {a} ahead on {c.wins} of {c.n} splits"
        )
    else:
        text += ": too few splits for an interval or a test"
    text += ")."
    if c.n > 1 and c.p_min >= SIGNIFICANCE:
        splits = f"{c.nonzero} splits that differ" if c.nonzero != 1 else "1 split that differs"
        text += (
            f" With {splits}, the smallest p this test can give is {_p(c.p_min)}: more splits are needed to "
            f"show a difference at 5 %."
        )
    return text


def _signed(value: float) -> str:
    return "-" if value != value else f"{100 * value:+.2f}".replace("-", "−")


def _means_sentence(where: str, a: str, b: str, metric: str, mean_a: float, mean_b: float, n: int) -> str:
    return (
        f"{where}: {a} {percent(mean_a)} against {b} {percent(mean_b)} of {METRIC_NAMES.get(metric, metric)} "
        f"(mean over {n} split{'s' if n != 1 else ''}); this zsl.json holds no per-split scores, so no paired "
        "test says whether the difference is real."
    )


def zsl_findings(summary: ZslSummary, metric: str = "top1") -> list[Finding]:
    """Per data set and ratio: the Action2Vec method against the pooled baseline, then against the training-free
    row when it ran, by their paired comparison (means only, said so, for files without per-split scores; none
    when either method is missing)."""
    main = _main_method(summary)
    baselines = [b for b in (BASELINE, TRAINING_FREE) if b in summary.variants and b != main]
    if main is None:
        return []
    out = []
    for dataset in summary.datasets:
        for ratio in summary.ratios():
            for baseline in baselines:
                finding = _zsl_finding(summary, dataset, ratio, main, baseline, metric)
                if finding is not None:
                    out.append(finding)
    return out


def _zsl_finding(
    summary: ZslSummary, dataset: str, ratio: str, main: str, baseline: str, metric: str
) -> Finding | None:
    where = f"{dataset}, {ratio}"
    c = _comparison(summary, dataset, ratio, main, baseline, metric)
    if c is not None and c.difference == c.difference:
        return Finding(
            "zsl",
            comparison_sentence(where, c, summary.transductive),
            {
                "dataset": dataset,
                "ratio": ratio,
                "metric": metric,
                "method": main,
                "baseline": baseline,
                "mean": c.mean_a,
                "baseline_mean": c.mean_b,
                "difference": c.difference,
                "low": c.low,
                "high": c.high,
                "p": c.p,
                "test": c.test,
                "interval": c.interval,
                "splits": c.n,
                "wins": c.wins,
                "verdict": c.verdict,
            },
        )
    ca, cb = summary.cell(dataset, main, ratio).get(metric), summary.cell(dataset, baseline, ratio).get(metric)
    if ca is None or cb is None or ca.mean != ca.mean or cb.mean != cb.mean:
        return None
    a, b = title(main, summary.transductive), title(baseline, summary.transductive)
    return Finding(
        "zsl",
        _means_sentence(where, a, b, metric, ca.mean, cb.mean, min(ca.n, cb.n)),
        {
            "dataset": dataset,
            "ratio": ratio,
            "metric": metric,
            "method": main,
            "baseline": baseline,
            "mean": ca.mean,
            "baseline_mean": cb.mean,
            "difference": ca.mean - cb.mean,
            "splits": min(ca.n, cb.n),
            "wins": None,
            "verdict": None,
        },
    )


def wordnet_finding(result: WordNetResult) -> Finding | None:
    """The first class vectors (the model's) against the text vectors in the WordNet test."""
    keys = list(result.spearman_by)
    if not keys or keys[0] == "text" or "text" not in keys:
        return None
    main = keys[0]
    a, b = result.spearman_by[main], result.spearman_by["text"]
    if a != a or b != b:
        return None
    rows = (
        paired_gap(
            [float("nan") if v is None else v for v in result.per_row.get(main, [])],
            [float("nan") if v is None else v for v in result.per_row.get("text", [])],
        )
        if len(result.per_row.get(main, [])) == len(result.per_row.get("text", []))
        else None
    )
    diff = next((d.interval for d in result.differences if (d.a, d.b) == (main, "text")), None)
    if diff is None and rows is not None:
        diff = bootstrap_difference(result.per_row[main], result.per_row["text"])
    if diff is not None and diff.n and diff.excludes_zero:
        relation = "more than" if diff.mean > 0 else "less than"
        text = f"{_capital(vectors_name(main))} correlate with WordNet {relation} the text vectors do"
    else:
        text = (
            f"{_capital(vectors_name(main))} correlate with WordNet neither more nor less than the text vectors "
            "(no significant difference at 5 %)"
        )
    text += f": Spearman ρ {rho(a)} against {rho(b)} (mean over the rows of {result.n_classes} classes"
    if diff is not None and diff.n:
        text += (
            f"; difference {diff.mean:+.3f}, 95 % bootstrap interval over the rows {diff.low:+.3f} to {diff.high:+.3f}"
        )
    if rows is not None and rows.n:
        text += f"; higher on {rows.wins} of {rows.n} rows"
    text += ")"
    others = [
        f"{vectors_name(k).removeprefix('the ')}: {rho(v)}"
        for k, v in result.spearman_by.items()
        if k not in (main, "text") and v == v
    ]
    text += f"; {', '.join(others)}." if others else "."
    return Finding(
        "wordnet",
        text,
        {
            "vectors": main,
            "spearman": a,
            "text_spearman": b,
            "above_text": a > b,
            "difference": diff.mean if diff is not None else None,
            "low": diff.low if diff is not None else None,
            "high": diff.high if diff is not None else None,
            "significant": bool(diff is not None and diff.excludes_zero),
            "rows_higher": rows.wins if rows is not None else None,
            "rows": rows.n if rows is not None else None,
        },
    )


GROUPED = {
    "verb": "group by verb rather than by noun",
    "noun": "group by noun rather than by verb",
    "neither": "group neither by verb nor by noun beyond chance",
}


def grouping_finding(result: WordNetResult) -> Finding | None:
    """Whether the first class vectors (those of the t-SNE map) group by verb or by noun, in their own space;
    and whether the map shows the same."""
    if not result.grouping:
        return None
    key, g = next(iter(result.grouping.items()))
    text = (
        f"{_capital(vectors_name(key))} {GROUPED[g.groups_by]}: the nearest other class shares the verb for "
        f"{percent(g.verb.rate)} of the {g.verb.n} classes (chance {percent(g.verb.chance)}) and the noun for "
        f"{percent(g.noun.rate)} (chance {percent(g.noun.chance)})."
    )
    values: dict[str, Any] = {
        "vectors": key,
        "groups_by": g.groups_by,
        "verb_rate": g.verb.rate,
        "verb_chance": g.verb.chance,
        "noun_rate": g.noun.rate,
        "noun_chance": g.noun.chance,
        "classes": g.verb.n,
    }
    shown = result.map_grouping.get(key)
    if shown is not None:
        agrees = shown.groups_by == g.groups_by
        text += (
            f" The t-SNE map {'agrees' if agrees else 'tells another story'}: in it the nearest class shares "
            f"the verb for {percent(shown.verb.rate)} and the noun for {percent(shown.noun.rate)}"
            + ("." if agrees else f", so its clusters suggest that they {GROUPED[shown.groups_by]}.")
        )
        values.update(map_groups_by=shown.groups_by, map_verb_rate=shown.verb.rate, map_noun_rate=shown.noun.rate)
    return Finding("grouping", text, values)


def _reading(exclude_query: bool) -> str:
    return "query class left out" if exclude_query else "every class a candidate, the paper's reading"


def _analogy_sentence(main: AnalogyScore, text: AnalogyScore, name: str) -> str:
    gap = main.accuracy - text.accuracy
    relation = f"{points(gap)} more than" if gap > 0 else f"{points(gap)} fewer than" if gap < 0 else "as many as"
    return (
        f"Analogy test ({_reading(main.exclude_query)}): {vectors_name(name)} answer {percent(main.accuracy)} of "
        f"{main.count} tests, {relation} the text vectors alone ({percent(text.accuracy)}; chance "
        f"{percent(main.chance)})."
    )


def analogy_findings(result: AnalogyResult) -> list[Finding]:
    """Per candidate reading: the model's class vectors against the text vectors alone, on every test."""
    name = result.class_vectors or "action2vec"
    out = []
    for exclude in dict.fromkeys(s.exclude_query for s in result.scores):
        scores = {s.vectors: s for s in result.scores if s.exclude_query == exclude and not s.subset}
        main, text = scores.get(name), scores.get("text")
        if main is None or text is None or name == "text" or main.accuracy != main.accuracy:
            continue
        out.append(
            Finding(
                "analogy",
                _analogy_sentence(main, text, name),
                {
                    "exclude_query": exclude,
                    "vectors": name,
                    "accuracy": main.accuracy,
                    "text_accuracy": text.accuracy,
                    "chance": main.chance,
                    "tests": main.count,
                    "above_text": main.accuracy > text.accuracy,
                },
            )
        )
        for other, score in scores.items():  # other models' class vectors (a split's model), beside the main one
            if other in (name, "text") or score.accuracy != score.accuracy:
                continue
            subsets = [s for s in result.scores if s.vectors == other and s.exclude_query == exclude and s.subset]
            out.append(
                Finding(
                    "analogy",
                    _other_model_sentence(score, main, subsets),
                    {
                        "exclude_query": exclude,
                        "vectors": other,
                        "accuracy": score.accuracy,
                        "tests": score.count,
                        "main_accuracy": main.accuracy,
                        "subsets": {s.subset: s.accuracy for s in subsets},
                    },
                )
            )
    return out


def _other_model_sentence(score: AnalogyScore, main: AnalogyScore, subsets: list[AnalogyScore]) -> str:
    text = (
        f"Analogy test ({_reading(score.exclude_query)}): the class means of the {score.vectors.removeprefix('action2vec, ')}"
        f" answer {percent(score.accuracy)} of {score.count} tests, against {percent(main.accuracy)} for "
        f"{vectors_name(main.vectors)}"
    )
    text += "".join(f"; {percent(s.accuracy)} of the {s.count} tests {s.subset}" for s in subsets)
    return text + "."


def run_findings(zsl: ZslSummary | None, wordnet: WordNetResult | None, analogy: AnalogyResult | None) -> list[Finding]:
    """Every finding of a run's results, in report order (zero-shot, WordNet, grouping, analogy)."""
    out = zsl_findings(zsl) if zsl is not None else []
    if wordnet is not None:
        out += [f for f in (wordnet_finding(wordnet), grouping_finding(wordnet)) if f is not None]
    if analogy is not None:
        out += analogy_findings(analogy)
    return out
