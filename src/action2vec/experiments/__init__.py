"""The orchestration layer above training and evaluation: the zero-shot protocol (``zero_shot``: ZslRun ->
run_zero_shot), the semantic tests (``semantic``: WordNetRun/AnalogyRun -> run_wordnet_test/run_analogy_test),
the extraction plan (``extraction``: ExtractRun -> run_extraction) and the end-to-end demo (``demo``). Each
command builds one of these configs from its options and calls its function, so the Python API runs what the
command runs. Nothing below imports this layer."""

from action2vec.experiments.demo import DemoConfig, DemoResult, demo_config, run_demo
from action2vec.experiments.zero_shot import ZslConfig, ZslRun, plan_jobs, run_zero_shot, run_zsl

__all__ = [
    "DemoConfig",
    "DemoResult",
    "demo_config",
    "run_demo",
    "ZslConfig",
    "ZslRun",
    "plan_jobs",
    "run_zero_shot",
    "run_zsl",
]
