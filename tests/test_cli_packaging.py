"""The package as a user installs it: one version, the files a wheel must carry, and a mistyped command line
answered with the sub-command's own help and a did-you-mean."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

import action2vec
from action2vec.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "action2vec"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


# --- one version -------------------------------------------------------------------------------------------


def test_the_version_is_written_once_in_the_package_and_pyproject_reads_it_from_there():
    project = _pyproject()
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "action2vec.__version__"}
    literal = re.search(r'^__version__ = "([^"]+)"$', (PACKAGE / "__init__.py").read_text(), re.M)
    assert literal is not None and literal.group(1) == action2vec.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", action2vec.__version__)
    quoted = f'"{action2vec.__version__}"'
    elsewhere = [
        str(p.relative_to(ROOT))
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.name != "__init__.py" or p.parent != PACKAGE
        if quoted in p.read_text()
    ]
    assert elsewhere == [], f"the version is written again in {elsewhere}"


def test_version_flag_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"action2vec {action2vec.__version__}"


def test_the_installed_metadata_agrees_when_installed():
    try:
        meta = installed_version("action2vec")
    except PackageNotFoundError:
        pytest.skip("action2vec is not installed, only on the path")
    if meta != action2vec.__version__:
        pytest.skip(f"the installed metadata ({meta}) is older than this tree: reinstall to refresh it")
    assert meta == action2vec.__version__


def test_the_changelog_has_a_section_for_this_version_and_the_license_is_the_declared_one():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(action2vec.__version__)}$", changelog, re.M), "no CHANGELOG section"
    assert _pyproject()["project"]["license"] == "MIT"
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    assert "the Action2Vec authors" in license_text


def test_importing_the_package_does_not_import_torch():
    code = "import sys, action2vec; print(sorted(m for m in ('torch', 'lightning') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- the files a wheel must carry --------------------------------------------------------------------------


def _data_files() -> set[str]:
    """Every file under the package that is not Python source (what package-data must list)."""
    return {
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }


def test_package_data_globs_cover_every_data_file_and_the_explorer_page():
    globs = _pyproject()["tool"]["setuptools"]["package-data"]["action2vec"]
    covered = {str(p.relative_to(PACKAGE)) for g in globs for p in PACKAGE.glob(g) if p.is_file()}
    data = _data_files()
    assert {
        "serve/static/index.html",
        "serve/static/app.js",
        "reports/templates/report.html.j2",
        "resources/label_overrides.yaml",
    } <= data
    assert data - covered == set()


@pytest.mark.slow
def test_a_wheel_built_from_the_tree_carries_the_data_files_license_and_version(tmp_path):
    setuptools_version = pytest.importorskip("setuptools").__version__
    if int(setuptools_version.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools_version} cannot build PEP 639 license metadata")
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        (tree / name).write_bytes((ROOT / name).read_bytes())
    subprocess.run(["cp", "-r", str(ROOT / "src"), str(tree / "src")], check=True)
    for junk in (tree / "src").glob("*.egg-info"):
        subprocess.run(["rm", "-rf", str(junk)], check=True)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(tree)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("action2vec-*.whl")
    assert wheel.name.startswith(f"action2vec-{action2vec.__version__}-")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = f"action2vec-{action2vec.__version__}.dist-info"
        metadata = zf.read(f"{info}/METADATA").decode()
    assert {f"action2vec/{f}" for f in _data_files()} <= names
    assert f"{info}/licenses/LICENSE" in names
    assert f"\nVersion: {action2vec.__version__}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    assert "action2vec = action2vec.cli.main:main" in zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()


# --- a mistyped command line --------------------------------------------------------------------------------


def test_a_mistyped_option_names_the_closest_option_and_the_subcommands_help(tmp_path, capsys):
    out = tmp_path / "run"
    code, err = _run_cli(["train", "--out", str(out), "--train.lrr", "0.1"], capsys)
    assert code == 2
    assert err == (
        "action2vec train: error: unrecognized argument --train.lrr (did you mean --train.lr?); "
        "see 'action2vec train --help'\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, short, full",
    [
        (["train", "--train.epoch", "3"], "--train.epoch", "--train.epochs"),
        (["zsl", "--store", "s.h5", "--seed", "3"], "--seed", "--seeds"),
    ],
)
def test_a_shortened_option_is_refused_not_taken_for_the_longer_one(tmp_path, capsys, argv, short, full):
    """argparse's prefix matching took --seed 3 as --seeds 3 (three splits) without a word."""
    code, err = _run_cli([*argv, "--out", str(tmp_path / "run")], capsys)
    assert code == 2
    assert f"unrecognized argument {short} (did you mean {full}?)" in err, err
    assert not (tmp_path / "run").exists()


def test_an_option_given_with_equals_and_one_unlike_any_option(tmp_path, capsys):
    code, err = _run_cli(["train", "--out", str(tmp_path / "r"), "--train.epochz=3", "--zzzzzz"], capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert "unrecognized arguments --train.epochz=3 (did you mean --train.epochs?), --zzzzzz;" in err
    assert err.rstrip().endswith("see 'action2vec train --help'")


def test_a_nested_subcommand_points_to_its_own_help(tmp_path, capsys):
    out = tmp_path / "s.h5"
    code, err = _run_cli(["store", "import", str(tmp_path), "--out", str(out), "--formatt", "npz"], capsys)
    assert code == 2
    assert err.startswith("action2vec store import: error: ")
    assert "(did you mean --format?)" in err
    assert err.rstrip().endswith("see 'action2vec store import --help'")
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, prog, wrong, right",
    [
        (["trian"], "action2vec", "trian", "train"),
        (["store", "imprt"], "action2vec store", "imprt", "import"),
    ],
)
def test_a_mistyped_subcommand_names_the_closest_one(argv, prog, wrong, right, capsys):
    code, err = _run_cli(argv, capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"{prog}: error: ")
    assert f"invalid choice: '{wrong}' (did you mean '{right}'?)" in err
    assert err.rstrip().endswith(f"see '{prog} --help'")


def test_a_word_like_no_subcommand_lists_the_choices_without_a_guess(capsys):
    code, err = _run_cli(["xyzzyq"], capsys)
    assert code == 2
    assert "did you mean" not in err
    assert "choose from" in err and "'train'" in err
