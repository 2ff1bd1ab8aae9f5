"""Audit of the class-name normaliser over the real class lists (docs/labels.md, "Audit").

    python benchmarks/audit_labels.py /path/to/shared/data --tsv /tmp/a2v-text/after.tsv
    python benchmarks/audit_labels.py DATA --tsv after.tsv --before before.tsv --judged judged.tsv

DATA is the folder holding ``ucf101/ucfTrainTestlist/classInd.txt``, ``hmdb51/mmaction2_label_map.txt``
and ``kinetics/label_map_k{400,600,700}.txt``; the lists are read from there and nothing is copied.

Writes one TSV row per (data set, class name): ``dataset name phrase verb verbs nouns source`` (``verbs``
and ``nouns`` space-separated). Prints, per data set: classes, classes without a verb, classes from the
overrides, the analogy-test count, and the checks a program can make (``--show-checks`` lists the names):

    wordnet_left_out  classes the WordNet test leaves out (neither the name nor the verb in any WordNet spelling)
    verb_not_wordnet  classes with a verb WordNet lacks in every spelling (hyphen, underscore, joined)
    adjective_noun    nouns WordNet knows only as adjectives or adverbs ("indoor"; -ing and -ed forms are nouns)
    ing_in_phrase     phrases that keep an -ing form of a verb WordNet holds, or of the second verb of "A or B"
                      ("bread or breadcrumbing"); unknown compounds keep theirs by design ("bartending")
    verb_clash        classes whose verb is the whole name of another class of the list while their name has
                      more than that verb ("situp" -> "sit" beside HMDB51's "sit"); ``--markdown`` prints the
                      table as docs/labels.md shows it. With ``--before`` (an earlier TSV of this script) it also counts
the names whose verb, verbs or nouns changed; with ``--judged`` (a reader's TSV ``name verbs nouns``, one
row per name judged, verbs and nouns space-separated, ``-`` for none) the names whose verbs or nouns
disagree with the reader. Keep both files outside the repository: they hold the data sets' class names.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from action2vec.datasets.base import read_class_list
from action2vec.evaluation.analogy import analogy_pairs
from action2vec.evaluation.wordnet_correlation import lemma_forms, select_wordnet_classes
from action2vec.text import load_wordnet
from action2vec.text.normalize import normalize_labels

LISTS = {
    "ucf101": "ucf101/ucfTrainTestlist/classInd.txt",
    "hmdb51": "hmdb51/mmaction2_label_map.txt",
    "kinetics400": "kinetics/label_map_k400.txt",
    "kinetics600": "kinetics/label_map_k600.txt",
    "kinetics700": "kinetics/label_map_k700.txt",
}
COLUMNS = ["dataset", "name", "phrase", "verb", "verbs", "nouns", "source"]


CHECKS = ("wordnet_left_out", "verb_not_wordnet", "adjective_noun", "ing_in_phrase", "verb_clash")


def label_checks(labels: list, wordnet: object) -> dict[str, list[str]]:
    """The names failing each check of the module docstring, for one class list."""
    _, _, left_out = select_wordnet_classes(labels, wordnet)
    whole = {label.phrase.lower() for label in labels}
    out: dict[str, list[str]] = {c: [] for c in CHECKS}
    out["wordnet_left_out"] = [labels[i].name for i in left_out]
    for label in labels:
        verbs = getattr(label, "verbs", (label.verb,) if label.verb else ())
        if any(not any(wordnet.synsets(f, "v") for f in lemma_forms(v)) for v in verbs):
            out["verb_not_wordnet"].append(label.name)
        if any(
            not n.lower().endswith(("ing", "ed")) and wordnet.synsets(n.lower()) and not wordnet.synsets(n.lower(), "n")
            for n in label.nouns
        ):
            out["adjective_noun"].append(label.name)
        words = label.phrase.lower().split()
        held = [v for k, v in enumerate(verbs) if k > 0 or any(wordnet.synsets(f, "v") for f in lemma_forms(v))]
        if any(
            w.endswith("ing")
            and w not in held
            and wordnet.morphy(w, "v") != w
            and any(w.startswith(v.replace("-", "").replace("_", "")[:-1]) for v in held)
            for w in words
        ):
            out["ing_in_phrase"].append(label.name)
        if label.verb and label.verb in whole and label.phrase.lower() != label.verb and len(words) == 1:
            out["verb_clash"].append(label.name)
    return out


def audit_rows(
    data: Path, wordnet_path: Path | None
) -> tuple[list[dict[str, str]], dict[str, int], dict[str, dict[str, list[str]]]]:
    """TSV rows for every class of every list under ``data``, the analogy-test count per list and the names
    failing each check per list."""
    wordnet = load_wordnet(wordnet_path)
    rows, pairs, checks = [], {}, {}
    for dataset, relative in LISTS.items():
        path = data / relative
        if not path.is_file():
            print(f"{path}: absent, {dataset} skipped", file=sys.stderr)
            continue
        labels = normalize_labels(read_class_list(path), wordnet=wordnet)
        pairs[dataset] = len(analogy_pairs(labels))
        checks[dataset] = label_checks(labels, wordnet)
        for label in labels:
            verbs = getattr(label, "verbs", (label.verb,) if label.verb else ())
            rows.append(
                {
                    "dataset": dataset,
                    "name": label.name,
                    "phrase": label.phrase,
                    "verb": label.verb,
                    "verbs": " ".join(verbs),
                    "nouns": " ".join(label.nouns),
                    "source": label.source,
                }
            )
    return rows, pairs, checks


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def read_judged(path: Path) -> dict[str, tuple[str, str]]:
    """``{name: (verbs, nouns)}`` from a reader's TSV (``-`` means none)."""
    out = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for line in csv.reader(handle, delimiter="\t"):
            if line and not line[0].startswith("#") and len(line) >= 3:
                out[line[0]] = tuple("" if v.strip() == "-" else v.strip() for v in line[1:3])
    return out


def summary(
    rows: list[dict[str, str]],
    pairs: dict[str, int],
    checks: dict[str, dict[str, list[str]]],
    before: list[dict[str, str]] | None,
    judged: dict[str, tuple[str, str]] | None,
) -> list[dict[str, object]]:
    """One dict of counts per data set."""
    old = {(r["dataset"], r["name"]): r for r in before or []}
    out = []
    for dataset, count in pairs.items():
        mine = [r for r in rows if r["dataset"] == dataset]
        line: dict[str, object] = {
            "dataset": dataset,
            "classes": len(mine),
            "no_verb": sum(not r["verb"] for r in mine),
            "overrides": sum(r["source"] != "rules" for r in mine),
            "analogy_tests": count,
        }
        line.update({c: len(names) for c, names in checks[dataset].items()})
        if before is not None:
            prev = [(r, old.get((dataset, r["name"]))) for r in mine]
            line["verb_changed"] = sum(p is not None and p["verb"] != r["verb"] for r, p in prev)
            line["verbs_changed"] = sum(p is not None and p.get("verbs", p["verb"]) != r["verbs"] for r, p in prev)
            line["nouns_changed"] = sum(p is not None and p["nouns"] != r["nouns"] for r, p in prev)
        if judged is not None:
            seen = [r for r in mine if r["name"] in judged]
            line["judged"] = len(seen)
            line["wrong"] = sum((r["verbs"], r["nouns"]) != judged[r["name"]] for r in seen)
        out.append(line)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder with ucf101/, hmdb51/ and kinetics/ class lists")
    parser.add_argument("--tsv", type=Path, help="write every class's phrase, verb, verbs, nouns here")
    parser.add_argument("--before", type=Path, help="an earlier --tsv output to count changes against")
    parser.add_argument("--judged", type=Path, help="a reader's TSV of name, verbs, nouns to count disagreements")
    parser.add_argument("--wordnet", type=Path, help="a WordNet 3.0 folder (default: as action2vec finds it)")
    parser.add_argument("--show-wrong", action="store_true", help="print each name that disagrees with --judged")
    parser.add_argument("--show-checks", action="store_true", help="print the names failing each check")
    parser.add_argument("--markdown", action="store_true", help="print the counts as a Markdown table")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"{args.data}: data folder not found", file=sys.stderr)
        return 2
    rows, pairs, checks = audit_rows(args.data, args.wordnet)
    if args.tsv:
        args.tsv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.tsv, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, COLUMNS, delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    judged = read_judged(args.judged) if args.judged else None
    table = summary(rows, pairs, checks, read_tsv(args.before) if args.before else None, judged)
    keys = list(table[0]) if table else []
    if args.markdown:
        print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
        for line in table:
            print("| " + " | ".join(str(line[k]) for k in keys) + " |")
    else:
        print("\t".join(keys))
        for line in table:
            print("\t".join(str(line[k]) for k in keys))
    for dataset, found in checks.items() if args.show_checks else []:
        for check, names in found.items():
            if names:
                print(f"{dataset} {check}: {', '.join(names)}")
    distinct = {r["name"] for r in rows}
    print(f"{len(distinct)} distinct names")
    if judged is not None:
        wrong = sorted(
            {r["name"] for r in rows if r["name"] in judged and (r["verbs"], r["nouns"]) != judged[r["name"]]}
        )
        print(f"{len(wrong)} distinct names disagree with {args.judged}")
        for name in wrong if args.show_wrong else []:
            row = next(r for r in rows if r["name"] == name)
            print(f"  {name}: verbs={row['verbs']!r} nouns={row['nouns']!r}; judged {judged[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
