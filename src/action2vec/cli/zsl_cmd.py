"""``action2vec zsl``: the zero-shot protocol over class splits, for a chosen set of variants.

    action2vec zsl --store ucf101=ucf.h5 --store hmdb51=hmdb.h5 --data.text word2vec:GoogleNews.bin \\
        --zsl.variants hrnn_attention,hrnn,hrnn_cosine,stacked_lstm,single_lstm,pooled_krr --out runs/table1
    action2vec zsl --store k.h5 --splits ../shared/data/kinetics/er_zsar --zsl.variants pooled_krr --out runs/k
    action2vec zsl --store ucf_clip.h5 --data.text hf:clip-vit-b16 --zsl.variants pooled_match,hrnn_attention,pooled_krr \
        --out runs/clip      # the store extracted with --backbone hf:clip-vit-b16 (docs/bring-your-own.md)

Rerunning the same command resumes: finished (split, variant) results are reused, an interrupted
training run continues from its checkpoint.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Older spellings of --zsl.KEY options (docs and scripts used them): each writes the same config field.
ZSL_ALIASES = {
    "--ratios": "ratios",
    "--seeds": "seeds",
    "--variants": "variants",
    "--overlap-threshold": "overlap_threshold",
    "--seen-holdout": "seen_holdout",
    "--workers": "workers",
    "--pca-dim": "pca_dim",
}


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.config import add_config_alias, add_config_arguments
    from action2vec.experiments.zero_shot import ZslConfig
    from action2vec.training.config import RunConfig

    p = sub.add_parser(
        "zsl",
        help="zero-shot protocol: class splits, train on seen classes, test on unseen (Tables 1-2)",
        description="For each feature store (data set), draw class splits (or read --splits), train each "
        "variant on the seen classes only and evaluate on the unseen classes; report mean ± std over splits "
        "in the paper's layout (rows = variants, columns = data sets, blocks = split ratios). The protocol's "
        "settings are the --zsl.key options (ratios, seeds, variants, ...); training settings come from "
        "--config/--set and the --section.key options, as for `action2vec train`; the label texts' embedder is "
        "--data.text.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--store",
        action="append",
        required=True,
        metavar="[NAME=]STORE",
        help="feature store of one data set (repeatable: one table column each)",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (resumable)")
    p.add_argument("--classes", type=Path, metavar="FILE", help="use only these classes (one per line)")
    p.add_argument("--overrides", type=Path, help="class-name overrides YAML")
    p.add_argument(
        "--oov", default="error", choices=["error", "skip", "subword"], help="word-vector policy for unknown words"
    )
    p.add_argument(
        "--splits",
        metavar="[NAME=]FILE",
        action="append",
        default=[],
        help="split file (JSON written by zsl, or an ER-ZSAR folder of *_class_idxs.json) instead of "
        "random splits; NAME= gives it to one store",
    )
    p.add_argument(
        "--pretrain-classes",
        type=Path,
        metavar="FILE",
        help="the backbone's pretraining classes: warn when they overlap the test classes",
    )
    p.add_argument("--config", metavar="YAML", help="training config file (sections data/model/loss/train)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help="override a training config key")
    p.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="A,B",
        help="also compare variant A with variant B, paired over the splits both ran on (repeatable; each "
        "variant is compared with pooled_krr anyway, and each trained one with pooled_match when it ran): "
        "mean difference, 95 %% Student-t interval, exact Wilcoxon signed-rank p",
    )
    p.add_argument("--json", metavar="FILE", help="also write the summary (mean and std per variant, ratio, metric)")
    add_config_arguments(p, ZslConfig, "zsl")
    aliases = p.add_argument_group("older spellings of --zsl options")
    for flag, key in ZSL_ALIASES.items():
        add_config_alias(aliases, flag, f"zsl.{key}")
    add_config_alias(aliases, "--transductive", "zsl.transductive", const=True)
    add_config_alias(aliases, "--krr", "zsl.krr", items=True)
    add_config_alias(aliases, "--manifold", "zsl.manifold", items=True)
    add_config_arguments(p, RunConfig)
    p.set_defaults(func=run)


def _named(items: list[str]) -> dict[str, str]:
    """``NAME=PATH`` (or a bare PATH, named by its stem) options as {name: path}."""
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        out.update({name: path} if sep else {Path(item).stem: item})
    return out


def _compare_pairs(items: list[str]) -> list[tuple[str, str]]:
    """--compare A,B options as (A, B) pairs (which variants they may name is checked by the protocol)."""
    from action2vec.errors import ConfigError

    pairs = []
    for item in items:
        names = [x.strip() for x in item.split(",")]
        if len(names) != 2:
            raise ConfigError(f"compare {item!r}: give two different variants as A,B")
        pairs.append((names[0], names[1]))
    return pairs


def zsl_run(args: argparse.Namespace) -> Any:
    """The ZslRun the options describe (settings checked against their declared ranges, nothing read yet)."""
    from action2vec.config import config_from_args
    from action2vec.datasets.base import read_class_list
    from action2vec.experiments.zero_shot import ZslConfig, ZslRun
    from action2vec.training.config import RunConfig

    zcfg = config_from_args(ZslConfig, args, prefix="zsl")
    train = config_from_args(RunConfig, args, args.config)
    stores = _named(args.store)
    if len(args.splits) == 1 and "=" not in args.splits[0]:  # one unnamed split file: every store's
        splits = {name: args.splits[0] for name in stores}
    else:
        splits = _named(args.splits)
    return ZslRun(
        stores=stores,
        out=args.out,
        zsl=zcfg,
        train=train,
        splits=splits,
        classes=read_class_list(args.classes) if args.classes else None,
        overrides=args.overrides,
        oov=args.oov,
        pretrain_classes=read_class_list(args.pretrain_classes) if args.pretrain_classes else [],
        compare=_compare_pairs(args.compare),
    )


def run(args: argparse.Namespace) -> int:
    from action2vec.experiments.zero_shot import run_zero_shot
    from action2vec.io import write_json
    from action2vec.reports.tables import comparison_table, table_markdown, zsl_table_markdown

    summary = run_zero_shot(zsl_run(args))
    write_json(summary.to_json(), args.json)
    print(zsl_table_markdown(summary))
    paired = comparison_table(summary)
    if paired.rows:
        print(table_markdown(paired))
    print(
        f"results in {args.out / 'zsl.json'}; table in {args.out / 'zsl_table.md'}; "
        f"`action2vec report {args.out}` writes the report"
    )
    return 0
