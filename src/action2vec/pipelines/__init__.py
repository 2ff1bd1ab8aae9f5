"""End-to-end pipelines that chain the library's stages; ``demo`` runs them all on the built-in toy data."""

from action2vec.pipelines.demo import DemoConfig, DemoResult, demo_config, run_demo

__all__ = ["DemoConfig", "DemoResult", "demo_config", "run_demo"]
