"""``action2vec train``: train a model on a feature store (single process, or under torchrun)."""

from __future__ import annotations

import argparse

from action2vec.config import add_config_arguments


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.training.config import RunConfig

    p = sub.add_parser(
        "train",
        help="train an Action2Vec model on a feature store",
        description="Train on the labelled videos of a feature store. Settings come from the defaults, then "
        "--config FILE (YAML with sections data/model/loss/train), then the --section.key options. The final "
        "config is written to OUT/config.yaml once every setting is checked; rerunning the same command resumes an "
        "interrupted run (SIGTERM: the current batch ends, a checkpoint is saved, exit 143; a damaged last.ckpt: the "
        "newest intact checkpoint). Multi-GPU / multi-node: run the same command under torchrun.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder (checkpoints, logs, model/)")
    p.add_argument("--config", metavar="YAML", help="config file (unknown keys are an error)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        default=[],
        help="override any config key, e.g. --set train.lr=3e-4 (repeatable)",
    )
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    add_config_arguments(p, RunConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import yaml

    from action2vec.config import config_from_args, to_dict
    from action2vec.training import RunConfig, fit

    cfg = config_from_args(RunConfig, args, args.config)
    if args.print_config:
        print(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        return 0
    result = fit(cfg, args.out)
    acc = result.metrics.get("val/acc")
    print(f"model written to {result.model_dir}" + (f" (validation accuracy {acc:.3f})" if acc is not None else ""))
    return 0
