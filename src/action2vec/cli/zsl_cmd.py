"""``action2vec zsl``: the zero-shot protocol over class splits, for a chosen set of variants.

    action2vec zsl --store ucf101=ucf.h5 --store hmdb51=hmdb.h5 --data.text word2vec:GoogleNews.bin \\
        --variants hrnn_attention,hrnn,hrnn_cosine,stacked_lstm,single_lstm,pooled_krr --out runs/table1
    action2vec zsl --store k.h5 --splits ../shared/data/kinetics/er_zsar --variants pooled_krr --out runs/k
    action2vec zsl --store ucf_clip.h5 --data.text hf:clip-vit-b16 --variants pooled_match,hrnn_attention,pooled_krr \
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


# the plain options that are fields of ZslConfig: checked against its declared ranges before any work
ZSL_OPTIONS = {"--seeds": "seeds", "--overlap-threshold": "overlap_threshold", "--seen-holdout": "seen_holdout",
               "--workers": "workers", "--pca-dim": "pca_dim"}


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.cli.common import range_help
    from action2vec.config import add_config_arguments
    from action2vec.experiments.zero_shot import ZslConfig
    from action2vec.training.config import RunConfig
    from action2vec.variants import METHODS

    p = sub.add_parser(
        "zsl", help="zero-shot protocol: class splits, train on seen classes, test on unseen (Tables 1-2)",
        description="For each feature store (data set), draw class splits (or read --splits), train each "
        "variant on the seen classes only and evaluate on the unseen classes; report mean ± std over splits "
        "in the paper's layout (rows = variants, columns = data sets, blocks = split ratios). Training "
        "settings come from --config/--set and the --section.key options, as for `action2vec train`; the label "
        "texts' embedder is --data.text.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--store", action="append", required=True, metavar="[NAME=]STORE",
                   help="feature store of one data set (repeatable: one table column each)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (resumable)")
    p.add_argument("--classes", type=Path, metavar="FILE", help="use only these classes (one per line)")
    p.add_argument("--overrides", type=Path, help="class-name overrides YAML")
    p.add_argument("--oov", default="error", choices=["error", "skip", "subword"], help="word-vector policy for unknown words")
    p.add_argument("--splits", metavar="[NAME=]FILE",  action="append", default=[],
                   help="split file (JSON written by zsl, or an ER-ZSAR folder of *_class_idxs.json) instead of "
                   "random splits; NAME= gives it to one store")
    p.add_argument("--ratios", default="50/50,80/20,90/10", help="seen/unseen ratios of random splits")
    p.add_argument("--seeds", type=int, default=10,
                   help="random splits per ratio (seeds 0..N-1)" + range_help(ZslConfig, "seeds"))
    p.add_argument("--variants", default="hrnn_attention,pooled_krr", help=f"comma-separated: {', '.join(METHODS)}")
    p.add_argument("--overlap-threshold", type=float, default=0.0,
                   help="drop seen classes whose label vector has cosine >= this with any test class (0: off)"
                   + range_help(ZslConfig, "overlap_threshold"))
    p.add_argument("--seen-holdout", type=float, default=0.0,
                   help="fraction of seen-class videos held out: validation, and the seen side of GZSL"
                   + range_help(ZslConfig, "seen_holdout"))
    p.add_argument("--pca-dim", type=int, default=0, metavar="N",
                   help="raw stores: fit PCA to N dims per split on the split's seen-class training videos only (0: off)"
                   + range_help(ZslConfig, "pca_dim"))
    p.add_argument("--transductive", action="store_true",
                   help="use the unlabelled test videos (features only, never labels): in the KRR graph, in a manifold "
                   "term of Action2Vec training (--manifold), and accept a store whose PCA saw them; every result is "
                   "labelled transductive (docs/evaluation.md)")
    p.add_argument("--manifold", action="append", default=[], metavar="KEY=VALUE",
                   help="transductive manifold term of Action2Vec training (weight, neighbors, batch_size, max_videos)")
    p.add_argument("--pretrain-classes", type=Path, metavar="FILE",
                   help="the backbone's pretraining classes: warn when they overlap the test classes")
    p.add_argument("--workers", type=int, default=0,
                   help="parallel processes (0: as the cores allow)" + range_help(ZslConfig, "workers"))
    p.add_argument("--krr", action="append", default=[], metavar="KEY=VALUE",
                   help="KRR baseline setting (kernel, sigma_scale, gamma_a, gamma_i, neighbors, max_train, seed)")
    p.add_argument("--config", metavar="YAML", help="training config file (sections data/model/loss/train)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[], help="override a training config key")
    p.add_argument("--compare", action="append", default=[], metavar="A,B",
                   help="also compare variant A with variant B, paired over the splits both ran on (repeatable; each "
                   "variant is compared with pooled_krr anyway, and each trained one with pooled_match when it ran): "
                   "mean difference, 95 %% Student-t interval, exact Wilcoxon signed-rank p")
    p.add_argument("--json", metavar="FILE", help="also write the summary (mean and std per variant, ratio, metric)")
    add_config_arguments(p, RunConfig)
    p.set_defaults(func=run)


def _named(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, sep, path = item.partition("=")
        out.append((name, path) if sep else (Path(item).stem, item))
    return out


def _zsl_config(args: argparse.Namespace) -> Any:
    """ZslConfig from the plain options, checked against its declared ranges before any work."""
    from action2vec.cli.common import check_option_ranges
    from action2vec.config import apply_overrides, check_ranges, from_dict
    from action2vec.evaluation.krr import KRRConfig
    from action2vec.experiments.zero_shot import ZslConfig
    from action2vec.training.manifold import ManifoldConfig

    check_option_ranges(args, ZslConfig, ZSL_OPTIONS)
    zcfg = ZslConfig(
        ratios=[r.strip() for r in args.ratios.split(",") if r.strip()],
        seeds=args.seeds,
        variants=[v.strip() for v in args.variants.split(",") if v.strip()],
        overlap_threshold=args.overlap_threshold,
        seen_holdout=args.seen_holdout,
        workers=args.workers,
        pca_dim=args.pca_dim,
        transductive=args.transductive,
        krr=from_dict(KRRConfig, apply_overrides({}, args.krr), prefix="krr"),
        manifold=from_dict(ManifoldConfig, apply_overrides({}, args.manifold), prefix="manifold"),
    )
    check_ranges(zcfg, "zsl")
    return zcfg


def _compare_pairs(items: list[str], variants: list[str]) -> list[tuple[str, str]]:
    """--compare A,B options as (A, B) pairs of variants that run, or ConfigError naming the bad one."""
    from action2vec.errors import ConfigError

    pairs = []
    for item in items:
        names = [x.strip() for x in item.split(",")]
        if len(names) != 2 or not all(names) or names[0] == names[1]:
            raise ConfigError(f"--compare {item!r}: give two different variants as A,B")
        unknown = [n for n in names if n not in variants]
        if unknown:
            raise ConfigError(f"--compare {item!r}: {', '.join(unknown)} not among --variants ({', '.join(variants)})")
        pairs.append((names[0], names[1]))
    return pairs


def _store_splits(args: argparse.Namespace, name: str, path: str, split_files: dict[str, str], zcfg: Any,
                  pretrain: list[str]) -> tuple[Any, list[Any]]:
    """The store's classes (those asked for that have videos) and its splits, restricted to them."""
    from action2vec.datasets.base import read_class_list
    from action2vec.errors import DataError
    from action2vec.evaluation.splits import load_splits, random_splits
    from action2vec.experiments.zero_shot import PRETRAINING_DATA
    from action2vec.store import open_store

    store = open_store(path)
    backbone = str(store.meta.get("backbone") or "")
    if backbone in PRETRAINING_DATA and not pretrain and not store.meta.get("random_weights"):
        log.warning("%s: backbone %s was pretrained on %s; test classes that are %s classes are not truly "
                    "unseen (give its class list with --pretrain-classes to list them)", path, backbone,
                    PRETRAINING_DATA[backbone], PRETRAINING_DATA[backbone])
    wanted = read_class_list(args.classes) if args.classes else None
    classes = [c for c in (wanted or store.classes) if c in set(store.classes)]
    if len(classes) < 2:
        raise DataError(f"{path}: fewer than 2 of the asked classes have videos")
    splits = load_splits(split_files[name]) if name in split_files else random_splits(classes, zcfg.ratios, range(zcfg.seeds))
    for s in splits:
        s.seen = [c for c in s.seen if c in set(classes)]
        s.unseen = [c for c in s.unseen if c in set(classes)]
    return classes, splits


def run(args: argparse.Namespace) -> int:
    from action2vec.config import config_from_args
    from action2vec.datasets.base import read_class_list
    from action2vec.errors import DataError
    from action2vec.evaluation.splits import save_splits
    from action2vec.experiments.pooled_match import MATCH_VARIANT, check_same_model
    from action2vec.experiments.zero_shot import plan_jobs, run_zsl
    from action2vec.io import write_json
    from action2vec.reports.tables import comparison_table, table_markdown, zsl_table_markdown
    from action2vec.text import build_label_vectors
    from action2vec.training.config import RunConfig

    zcfg = _zsl_config(args)
    compare = _compare_pairs(args.compare, zcfg.variants)
    train_cfg = config_from_args(RunConfig, args, args.config)
    stores = _named(args.store)
    split_files = dict(_named(args.splits)) if args.splits else {}
    if len(args.splits) == 1 and "=" not in args.splits[0]:
        split_files = {name: args.splits[0] for name, _ in stores}
    unknown = sorted(set(split_files) - {name for name, _ in stores})
    if unknown:
        raise DataError(f"--splits names {unknown} match no --store NAME (stores: {[n for n, _ in stores]})")
    pretrain = read_class_list(args.pretrain_classes) if args.pretrain_classes else []

    jobs, splits_of = [], {}
    for name, path in stores:
        if MATCH_VARIANT in zcfg.variants:  # before the label texts are embedded (plan_jobs checks it again)
            from action2vec.store import open_store

            check_same_model(open_store(path).meta, train_cfg.data.text, path)
        classes, splits = _store_splits(args, name, path, split_files, zcfg, pretrain)
        lv = build_label_vectors(sorted(set(classes) | {c for s in splits for c in s.seen + s.unseen}),
                                 train_cfg.data.text, overrides=args.overrides, oov=args.oov,
                                 prompts=train_cfg.data.prompts)
        jobs += plan_jobs(name, path, splits, lv, zcfg, train_cfg, args.out, pretrain)
        splits_of[name] = splits
    args.out.mkdir(parents=True, exist_ok=True)
    for name, splits in splits_of.items():
        save_splits(splits, args.out / "splits" / f"{name}.json")

    summary = run_zsl(jobs, args.out, workers=zcfg.workers, figures=args.out / "figures", compare=compare)
    write_json(summary.to_json(), args.json)
    print(zsl_table_markdown(summary))
    paired = comparison_table(summary)
    if paired.rows:
        print(table_markdown(paired))
    print(f"results in {args.out / 'zsl.json'}; table in {args.out / 'zsl_table.md'}; "
          f"`action2vec report {args.out}` writes the report")
    return 0
