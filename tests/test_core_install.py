"""The core install: only pyproject's `dependencies` (and what they pull in) are importable, and the library still
trains on a feature store, loads the model folder and embeds features; a command that needs an extra says which
one in one line.

The core-only environment is made from this interpreter's site-packages: a folder of links to every installed
distribution that the core requirements reach (their dependency closure, markers evaluated, no extras), run with
``python -S`` so nothing else (no .pth file, no user site) is on the path. Modules *and* their metadata are absent,
as in a fresh venv, so libraries that probe for optional packages (Lightning, torchmetrics) see what a user sees.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
MISSING_LINE = re.compile(r"needs the (.+?) extras?: pip install \"action2vec\[([\w,]+)\]\"")
# modules that are the extras' own rooms: importing them without the extra fails, and only them
EXTRA_ROOMS = {
    "action2vec.reports.plots": "matplotlib",
    "action2vec.reports.report": "matplotlib",
    "action2vec.serve.app": "fastapi",
}

pytestmark = pytest.mark.slow


def _core_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def _closure(requirements: list[Requirement]) -> set[str]:
    """Canonical names of the installed distributions that ``requirements`` reach (no extras requested)."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue  # an optional platform dependency not installed here (e.g. CUDA libraries)
        seen.add(name)
        todo.extend(Requirement(r) for r in (dist.requires or []))
    return seen


def _top_level_entries(dist: metadata.Distribution) -> set[str]:
    return {Path(str(f)).parts[0] for f in (dist.files or []) if not str(f).startswith("..")}


@pytest.fixture(scope="module")
def core_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keep = _closure(_core_requirements())
    site = Path(sysconfig.get_paths()["purelib"])
    kept_entries: set[str] = set()
    hidden_entries: set[str] = set()
    for dist in metadata.distributions(path=[str(site)]):
        entries = _top_level_entries(dist)
        name = canonicalize_name(dist.metadata["Name"] or "")
        (kept_entries if name in keep else hidden_entries).update(entries)
    missing = {canonicalize_name(r.name) for r in _core_requirements()} - keep
    assert not missing, f"core requirements not installed here: {missing}"
    out = tmp_path_factory.mktemp("core-site")
    for entry in site.iterdir():
        if entry.name in hidden_entries and entry.name not in kept_entries:
            continue
        if entry.suffix == ".pth" or entry.name.startswith("__editable__"):
            continue
        (out / entry.name).symlink_to(entry)
    return out


def _run_core(core_site: Path, code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(core_site), str(ROOT / "src")])
    return subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _cli_core(core_site: Path, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return _run_core(core_site, f"import sys; from action2vec.cli.main import main; sys.exit(main({argv!r}))", cwd)


def test_the_core_closure_holds_none_of_the_extras_packages(core_site: Path):
    present = {p.name for p in core_site.iterdir()}
    for module in (
        "av",
        "gensim",
        "nltk",
        "matplotlib",
        "sklearn",
        "sentence_transformers",
        "faiss",
        "transformers",
        "fastapi",
        "uvicorn",
        "tensorboard",
    ):
        assert module not in present, f"{module} is reachable from the core requirements"


def test_pyproject_has_at_most_eight_core_requirements():
    assert len(_core_requirements()) <= 8, [str(r) for r in _core_requirements()]


def test_core_trains_loads_the_model_folder_and_embeds_features(core_site: Path, tmp_path: Path):
    from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file

    label_vectors = synthetic_label_vectors(4, dim=8)
    store = make_synthetic_store(tmp_path / "store.h5", label_vectors, videos_per_class=6, feature_dim=12)
    vectors = write_vectors_file(label_vectors, tmp_path / "vectors.npz")
    train = _cli_core(
        core_site,
        [
            "train",
            "--out",
            "run",
            "--set",
            f"data.store={store}",
            "--set",
            f"data.text=vectors:{vectors}",
            "--set",
            "model.preset=tiny",
            "--set",
            "train.epochs=2",
            "--set",
            "train.progress_bar=false",
            "--set",
            "data.val_fraction=0",
        ],
        tmp_path,
    )
    assert train.returncode == 0, train.stderr[-3000:]

    use = _run_core(
        core_site,
        (
            "import numpy as np, action2vec.store as st\n"
            "from action2vec import Action2Vec\n"
            "m = Action2Vec.load('run/model')\n"
            f"s = st.open_store({str(store)!r})\n"
            "v = m.encode_features([s.get(i)[0][: s.get(i)[1]] for i in range(3)])\n"
            "print(v.shape, m.classes[:2], round(float(np.linalg.norm(v, axis=1).mean()), 3))\n"
        ),
        tmp_path,
    )
    assert use.returncode == 0, use.stderr[-3000:]
    assert use.stdout.startswith(f"(3, {8})"), use.stdout


@pytest.mark.parametrize(
    "argv, extras",
    [
        (["extract", "--list", "list.txt", "--backbone", "motion", "--out", "f.h5"], ["video"]),
        (["demo", "--out", "demo_run", "--size", "quick"], ["video", "text", "report"]),
        (["labels", "--classes", "classes.txt", "--text", "minilm", "--json", "labels.json"], ["text"]),
        (["serve", "run"], ["serve"]),
    ],
)
def test_a_command_that_needs_an_extra_names_it_in_one_line_before_writing(
    core_site: Path, tmp_path: Path, argv, extras
):
    (tmp_path / "list.txt").write_text("a.mp4 spin_ball\n")
    (tmp_path / "classes.txt").write_text("spin ball\n")
    (tmp_path / "run").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    done = _cli_core(core_site, argv, tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-3000:]
    assert len(lines) == 1, done.stderr[-3000:]
    match = MISSING_LINE.search(lines[0])
    assert match, lines[0]
    assert match.group(2).split(",") == extras, lines[0]
    assert all(f"'{e}'" in match.group(1) for e in extras), lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_every_module_but_the_extras_rooms_imports_in_the_core(core_site: Path, tmp_path: Path):
    done = _run_core(
        core_site,
        (
            "import importlib, pkgutil, action2vec\n"
            "for m in pkgutil.walk_packages(action2vec.__path__, 'action2vec.'):\n"
            "    try:\n"
            "        importlib.import_module(m.name)\n"
            "    except ImportError as exc:\n"
            "        print(m.name, exc.name)\n"
        ),
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    failed = dict(line.split() for line in done.stdout.splitlines())
    assert failed == EXTRA_ROOMS


def test_the_help_lists_every_command_without_its_extras(core_site: Path, tmp_path: Path):
    done = _cli_core(core_site, ["--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    for command in ("extract", "train", "zsl", "eval", "report", "index", "search", "serve", "demo", "store"):
        assert re.search(rf"^\s+{command}\s", done.stdout, re.M), f"{command} missing from --help"


def test_the_extras_table_matches_pyproject():
    """Every extra the code names exists in pyproject, and an extra said to include others does."""
    from action2vec.extras import EXTRA_OF, INCLUDES

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(EXTRA_OF.values()) <= set(extras)
    for extra, included in INCLUDES.items():
        listed = {i for r in extras[extra] if (req := Requirement(r)).name == "action2vec" for i in req.extras}
        assert included <= listed, extra
    assert {"video", "text", "report", "search", "serve", "hf"} <= {
        i for r in extras["all"] for i in Requirement(r).extras
    }
