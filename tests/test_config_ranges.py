"""Settings are checked before anything runs or is written: declared ranges, one line, exit 2."""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from pathlib import Path

import pytest

from action2vec.cli.main import main
from action2vec.config import bounded, check_ranges, load_config, option, range_text
from action2vec.datasets.toy import ToyConfig
from action2vec.errors import ConfigError, DataError
from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file
from action2vec.training import RunConfig, fit
from action2vec.training.config import DataConfig, TrainConfig
from action2vec.video.config import ClipConfig, ComputeConfig


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("ranges")
    lv = synthetic_label_vectors(4, dim=8, seed=1)
    store = make_synthetic_store(root / "s.h5", lv, videos_per_class=6, steps=8, feature_dim=16, seed=1)
    vectors = write_vectors_file(lv, root / "v.npz")
    return {"store": store, "vectors": vectors, "lv": lv}


def _train(small, out: Path, *extra: str) -> int:
    return main(
        [
            "train",
            "--out",
            str(out),
            "--data.store",
            str(small["store"]),
            "--data.text",
            f"vectors:{small['vectors']}",
            "--model.preset",
            "tiny",
            "--train.epochs",
            "1",
            "--train.progress_bar",
            "false",
            *extra,
        ]
    )


def _error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err  # one line, no traceback
    return err[0]


@pytest.mark.parametrize(
    ("option", "value", "needles"),
    [
        ("--train.epochs", "-1", ["train.epochs", "-1", ">= 1"]),
        ("--train.batch_size", "0", ["train.batch_size", "0", ">= 1"]),
        ("--train.lr", "-0.1", ["train.lr", "-0.1", "> 0"]),
        ("--data.val_fraction", "2", ["data.val_fraction", "2", ">= 0 and < 1"]),
        ("--train.log_every_n_steps", "0", ["train.log_every_n_steps", ">= 1"]),
        ("--data.classes", "", ["data.classes", "empty"]),
    ],
)
def test_train_settings_out_of_range_are_refused_before_the_run_folder_exists(
    small, tmp_path, capsys, option, value, needles
):
    assert _train(small, tmp_path / "run", option, value) == 2
    line = _error_line(capsys)
    for needle in needles:
        assert needle in line, line
    assert not (tmp_path / "run").exists()


def test_a_bad_batch_size_then_the_corrected_command_works(small, tmp_path, capsys):
    assert _train(small, tmp_path / "run", "--train.batch_size", "-5") == 2
    assert "train.batch_size" in _error_line(capsys)
    assert not (tmp_path / "run").exists()  # nothing recorded the bad value
    assert _train(small, tmp_path / "run", "--train.batch_size", "5") == 0
    assert "batch_size: 5" in (tmp_path / "run" / "config.yaml").read_text()


def test_an_empty_classes_file_is_an_error_naming_it(small, tmp_path, capsys):
    empty = tmp_path / "classes.txt"
    empty.write_text("\n  \n")
    assert _train(small, tmp_path / "run", "--data.classes_file", str(empty)) == 2
    line = _error_line(capsys)
    assert str(empty) in line and "no class" in line
    with pytest.raises(DataError, match="lists no class"):
        fit(
            load_config(RunConfig, None, [f"data.classes_file={empty}", "model.preset=tiny"]),
            tmp_path / "lib",
            store=_store(small),
            label_vectors=small["lv"],
        )
    # not given at all still means every class
    assert load_config(RunConfig).data.classes is None


def _store(small):
    from action2vec.store import open_store

    return open_store(small["store"])


def test_extraction_settings_out_of_range_exit_2(tmp_path, capsys):
    (tmp_path / "l.txt").write_text("a.mp4\n")
    base = [
        "extract",
        "--list",
        str(tmp_path / "l.txt"),
        "--out",
        str(tmp_path / "x.h5"),
        "--backbone",
        "c3d-tiny",
        "--random-weights",
    ]
    for flag, value, needle in [
        ("--compute.batch_size", "-4", ">= 1"),
        ("--compute.workers", "-2", ">= -1"),
        ("--video.fps", "0", "> 0"),
        ("--compute.flush_every", "0", ">= 1"),
    ]:
        assert main([*base, flag, value]) == 2
        line = _error_line(capsys)
        assert flag[2:] in line and value in line and needle in line, line
    assert main([*base, "--limit", "-3"]) == 2  # a plain option with a declared range
    line = _error_line(capsys)
    assert "--limit" in line and "-3" in line and ">= 0" in line, line
    assert not list(tmp_path.glob("x.h5*"))  # no store, log, lock or parts folder


def test_library_configs_check_ranges_too():
    with pytest.raises(ConfigError, match=r"train\.epochs.*>= 1"):
        load_config(RunConfig, None, ["train.epochs=-1"])
    with pytest.raises(ConfigError, match=r"toy\.videos_per_class.*>= 1"):
        ToyConfig(videos_per_class=0)
    with pytest.raises(ConfigError, match=r"toy\.size.*odd"):
        ToyConfig(size=33)
    with pytest.raises(ConfigError, match=r"data\.val_fraction.*< 1"):
        load_config(RunConfig, None, ["data.val_fraction=1.0"])
    assert load_config(RunConfig, None, ["data.val_fraction=0"]).data.val_fraction == 0.0  # the lower end is valid


NUMERIC = (int, float)


def _declares_range(cls: type) -> list[str]:
    """Numeric and list fields of ``cls`` without a declared range."""
    hints = typing.get_type_hints(cls)
    missing = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
        numeric_or_list = any(a in NUMERIC or typing.get_origin(a) in (list, tuple) for a in args)
        if numeric_or_list and not range_text(f.metadata) and f.name != "classes":
            missing.append(f"{cls.__name__}.{f.name}")
        if f.name == "classes" and cls is DataConfig and not f.metadata.get("nonempty"):
            missing.append("DataConfig.classes (nonempty)")
    return missing


def test_every_numeric_and_list_setting_declares_its_range():
    missing = [
        m for cls in (DataConfig, TrainConfig, ClipConfig, ComputeConfig, ToyConfig) for m in _declares_range(cls)
    ]
    assert missing == []


def test_bounded_option_type_gives_one_line_errors_and_documents_its_range(capsys):
    from action2vec.cli.main import CommandParser

    parser = CommandParser(prog="prog")
    parser.add_argument("--top-k", type=bounded(int, ge=1), default=5, help="labels per video")
    parser.add_argument("--threshold", type=bounded(float, gt=0, le=1), default=0.5, help="a fraction")
    assert parser.parse_args(["--top-k", "3", "--threshold", "1"]).top_k == 3
    for argv, needles in [
        (["--top-k", "0"], ["--top-k", "0", ">= 1"]),
        (["--top-k", "two"], ["--top-k", "'two'", "integer"]),
        (["--threshold", "0"], ["--threshold", "> 0 and <= 1"]),
    ]:
        with pytest.raises(Exception) as info:
            parser.parse_args(argv)
        text = str(info.value)
        assert "\n" not in text
        for needle in needles:
            assert needle in text, text
    assert "(must be >= 1)" in " ".join(parser.format_help().split())
    parse = bounded(float, ge=0)
    with pytest.raises(argparse.ArgumentTypeError, match="out of range"):
        parse("-1e-9")
    assert parse("0") == 0.0


@pytest.mark.parametrize(
    ("option_name", "value"),
    [
        ("--train.lr", "inf"),
        ("--train.lr", ".inf"),
        ("--train.lr", "nan"),
        ("--train.weight_decay", "inf"),
        ("--train.grad_clip", "Infinity"),
        ("--data.memory_budget_gb", "inf"),
    ],
)
def test_non_finite_settings_are_refused_before_the_run_folder_exists(small, tmp_path, capsys, option_name, value):
    assert _train(small, tmp_path / "run", option_name, value) == 2
    line = _error_line(capsys)
    assert option_name[2:] in line and "finite" in line, line
    assert not (tmp_path / "run").exists()


def test_non_finite_values_in_yaml_are_refused_naming_the_key(tmp_path):
    from action2vec.training import RunConfig

    path = tmp_path / "run.yaml"
    path.write_text("train:\n  lr: .inf\n")
    with pytest.raises(ConfigError, match=r"'train\.lr'.*not a finite number"):
        load_config(RunConfig, path)
    path.write_text("train:\n  weight_decay: .nan\n")
    with pytest.raises(ConfigError, match=r"'train\.weight_decay'"):
        load_config(RunConfig, path)


def test_a_float_without_a_declared_range_must_be_finite_too_unless_it_allows_inf():
    @dataclasses.dataclass
    class Cfg:
        plain: float = option(1.0, "no range declared")
        listed: list[float] = option([1.0], "numbers")
        limit: float = option(math.inf, "may be infinite", ge=0, allow_inf=True)

    check_ranges(Cfg())  # the declared default inf is fine
    for bad in (
        Cfg(plain=math.inf),
        Cfg(plain=math.nan),
        Cfg(listed=[1.0, -math.inf]),
        Cfg(limit=math.nan),
        Cfg(limit=-math.inf),
    ):
        with pytest.raises(ConfigError, match="finite|out of range"):
            check_ranges(bad)


def test_bounded_float_options_refuse_inf_and_nan():
    parse = bounded(float, gt=0)
    assert parse("0.5") == 0.5
    for text in ("inf", "nan", "-inf", "1e999"):
        with pytest.raises(argparse.ArgumentTypeError, match="finite"):
            parse(text)


@pytest.mark.parametrize("seed", [str(2**32), str(2**40)])
def test_a_seed_the_libraries_cannot_take_is_refused_in_one_line(small, tmp_path, capsys, seed):
    assert _train(small, tmp_path / "run", "--train.seed", seed) == 2
    line = _error_line(capsys)
    assert "train.seed" in line and "4294967295" in line, line
    assert not (tmp_path / "run").exists()


def test_integers_beyond_64_bits_are_refused_by_the_config_layer(small, tmp_path, capsys):
    assert _train(small, tmp_path / "run", "--train.batch_size", "1e30") == 2
    line = _error_line(capsys)
    assert "train.batch_size" in line and "64-bit" in line, line
