"""The explorer uses a run's index only when it was made from the store as it is now, and its warning says why not:
an index from before provenance records is named as old, not as an index of other features."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

pytest.importorskip("fastapi", reason="the explorer needs the serve extra: pip install -e '.[serve]'")

from action2vec.cli.main import main  # noqa: E402
from action2vec.serve.explorer import _usable_index, explorer_paths  # noqa: E402
from action2vec.store import open_store  # noqa: E402


@pytest.fixture()
def indexed_run(toy_run, tmp_path):
    run = tmp_path / "toy"
    shutil.copytree(toy_run.parent, run)  # the run folder and its features.h5 beside it
    run_dir = run / toy_run.name
    assert main(["index", str(run_dir)]) == 0
    return run_dir


def _edit_index_json(run_dir, **changes) -> None:
    path = next(run_dir.rglob("index.json"))
    doc = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    path.write_text(json.dumps(doc))


def _warning_of(run_dir, caplog) -> tuple[object, str]:
    paths = explorer_paths(run_dir)
    with caplog.at_level(logging.WARNING, logger="action2vec.serve.explorer"):
        index, _ = _usable_index(paths, open_store(paths.store))
    return index, " ".join(r.getMessage() for r in caplog.records)


def test_the_runs_own_index_is_used_when_current(indexed_run, caplog):
    index, warning = _warning_of(indexed_run, caplog)
    assert index is not None and not warning


def test_an_index_from_before_provenance_records_is_named_as_old(indexed_run, caplog):
    _edit_index_json(indexed_run, provenance=None, store_digest="0123456789abcdef")  # an 8-video sample digest
    index, warning = _warning_of(indexed_run, caplog)
    assert index is None and "older action2vec" in warning and "other features" not in warning, warning


def test_an_index_of_other_features_says_so(indexed_run, caplog):
    _edit_index_json(indexed_run, store_digest="0123456789abcdef")
    index, warning = _warning_of(indexed_run, caplog)
    assert index is None and "changed since it was indexed" in warning, warning
