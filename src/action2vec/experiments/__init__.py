"""The orchestration layer above training and evaluation: the zero-shot protocol runner (``zero_shot``),
the semantic tests assembled once (``semantic``), and the end-to-end demo (``demo``). The commands and the
Python API call these; nothing below imports them."""

from action2vec.experiments.demo import DemoConfig, DemoResult, demo_config, run_demo
from action2vec.experiments.zero_shot import ZslConfig, plan_jobs, run_zsl

__all__ = ["DemoConfig", "DemoResult", "demo_config", "run_demo", "ZslConfig", "plan_jobs", "run_zsl"]
