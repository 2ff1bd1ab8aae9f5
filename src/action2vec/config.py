"""Typed configuration: dataclasses, strict YAML loading, dotted overrides, argparse options.

Every concern (model, loss, training, ...) has its own dataclass. A field's help text lives in its
metadata (``option(default, "help")``) so the CLI documents every option from one place, and so does
its valid range (``option(30, "training epochs", ge=1)``), checked whenever a config is built.

    cfg = load_config(RunConfig, "run.yaml", overrides=["train.lr=3e-4"])
    save_config(cfg, run_dir / "config.yaml")

Unknown keys, values of the wrong type and values out of their declared range raise :class:`ConfigError`
naming the dotted key, the value and what is allowed. Two rules hold for every field without being
declared: a float is finite (``inf`` and ``nan`` are refused, from YAML's ``.inf`` as from the command line,
unless the field says ``allow_inf=True``), and an integer fits in 64 bits (what the libraries underneath
take); seeds declare ``le=MAX_SEED``. Plain command-line options that are not config fields declare their
range with :func:`bounded` (``type=bounded(int, ge=1)``), so argparse names the option, the value and the
range in one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml

from action2vec.errors import ConfigError

T = TypeVar("T")

__all__ = [
    "MAX_SEED",
    "option",
    "bounded",
    "check_ranges",
    "range_text",
    "from_dict",
    "to_dict",
    "load_config",
    "save_config",
    "apply_overrides",
    "add_config_arguments",
    "add_config_alias",
    "config_from_args",
    "execution_keys",
]


_RANGE_KEYS = ("ge", "gt", "le", "lt", "nonempty")
_INT64 = (-(2**63), 2**63 - 1)  # what NumPy and PyTorch take as an integer
MAX_SEED = 2**32 - 1  # the largest seed NumPy's legacy generator and Lightning's seed_everything accept


def option(
    default: Any,
    help: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    nonempty: bool = False,
    allow_inf: bool = False,
    **kwargs: Any,
) -> Any:
    """A dataclass field with a default, a help text (shown by ``--help``) and its valid range.

    ``ge``/``gt``/``le``/``lt`` bound a number (or every number of a list); ``nonempty`` refuses an empty
    string or list; ``allow_inf`` lets a float be infinite (say in the help what that means). None values
    of optional fields are always allowed. ``execution=True`` marks a setting that changes only how a result
    is computed, not the result (workers, devices, progress bars): artefacts made under another value are
    reused and resumed (:func:`execution_keys`, :mod:`action2vec.provenance`).
    """
    bounds: dict[str, Any] = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    if nonempty:
        bounds["nonempty"] = True
    if allow_inf:
        bounds["allow_inf"] = True
    meta = {"help": help, **bounds, **kwargs}
    if isinstance(default, (list, dict, set)):
        factory = type(default)
        value = default
        return dataclasses.field(default_factory=lambda: factory(value), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def range_text(meta: Any) -> str:
    """The declared range of a field as text (``">= 1"``, ``"> 0 and <= 1"``, ``"not empty"``), or ""."""
    parts = [
        f"{op} {_number_text(meta[k])}" for k, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")) if k in meta
    ]
    if meta.get("nonempty"):
        parts.append("not empty")
    return " and ".join(parts)


def _number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 2**64 else f"{x:g}"


def _numbers(value: Any) -> list[int | float]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _representable(value: Any, meta: Any) -> str | None:
    """Why ``value`` breaks the rules every field follows (a float is finite, an integer fits in 64 bits), or None."""
    for v in _numbers(value):
        if isinstance(v, float) and (v != v or (math.isinf(v) and not meta.get("allow_inf"))):
            return f"{v!r} is not a finite number" + ("" if v != v else " (this setting takes finite values only)")
        if isinstance(v, int) and not _INT64[0] <= v <= _INT64[1]:
            return f"{v} does not fit in a 64-bit integer"
    return None


def _in_range(value: Any, meta: Any) -> bool:
    if meta.get("nonempty") and isinstance(value, (str, list, tuple, dict)) and len(value) == 0:
        return False
    for v in _numbers(value):
        if v != v:  # NaN is in no range
            return False
        if ("ge" in meta and not v >= meta["ge"]) or ("gt" in meta and not v > meta["gt"]):
            return False
        if ("le" in meta and not v <= meta["le"]) or ("lt" in meta and not v < meta["lt"]):
            return False
    return True


def bounded(
    kind: type = int,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Callable[[str], Any]:
    """An argparse ``type=`` reading a number of ``kind`` (int or float) that must lie in the given range.

        p.add_argument("--limit", type=bounded(int, ge=0), default=0, help="only the first N videos")

    A wrong value stops parsing with one line naming the option, the value and the range, e.g.
    ``argument --limit: -1 is out of range (must be >= 0)``; ``--help`` shows the range beside the help.
    """
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    allowed = range_text(bounds)
    noun = "an integer" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}" + (f" ({allowed})" if allowed else "")) from None
        problem = _representable(value, bounds)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem + (f" (must be {allowed})" if allowed else ""))
        if not _in_range(value, bounds):
            raise argparse.ArgumentTypeError(f"{text} is out of range (must be {allowed})")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    parse.range_text = allowed  # type: ignore[attr-defined]
    return parse


def check_ranges(cfg: Any, prefix: str = "") -> None:
    """Raise ConfigError for the first field of ``cfg`` (recursively) outside its declared range, or holding
    a non-finite float (unless declared ``allow_inf``) or an integer beyond 64 bits."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        dotted = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_ranges(value, dotted)
            continue
        problem = None if value is None else _representable(value, f.metadata)
        if problem is not None:
            allowed = range_text(f.metadata)
            raise ConfigError(f"config key '{dotted}': {problem}" + (f" (must be {allowed})" if allowed else ""))
        if value is not None and any(k in f.metadata for k in _RANGE_KEYS) and not _in_range(value, f.metadata):
            if f.metadata.get("nonempty") and isinstance(value, (str, list, tuple, dict)) and len(value) == 0:
                raise ConfigError(
                    f"config key '{dotted}': {value!r} is empty (give at least one value, or leave the "
                    "key out for its default)"
                )
            raise ConfigError(f"config key '{dotted}': {value!r} is out of range (must be {range_text(f.metadata)})")


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert ``value`` to type ``tp`` (YAML or command-line string) or raise ConfigError."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"config key '{key}': cannot read {value!r} as {tp}")
    if origin is typing.Literal:
        if isinstance(value, bool) and {"yes", "no"} <= set(args):
            value = "yes" if value else "no"  # YAML reads yes/no as booleans
        for choice in args:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ConfigError(f"config key '{key}': {value!r} is not one of {list(args)}")
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v != ""]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}': expected a list, got {value!r}")
        inner = args[0] if args else Any
        out = [_coerce(v, inner, key) for v in value]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}': expected a mapping, got {value!r}")
        return dict(value)
    if _is_dataclass_type(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}': expected a mapping, got {value!r}")
        return from_dict(tp, value, prefix=key)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "no", "0", "off"):
            return False
        raise ConfigError(f"config key '{key}': expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"config key '{key}': expected an integer, got {value!r}")
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"config key '{key}': expected an integer, got {value!r}") from None
        if as_float != int(as_float):
            raise ConfigError(f"config key '{key}': expected an integer, got {value!r}")
        return int(as_float)
    if tp is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"config key '{key}': expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"config key '{key}': expected a string, got {value!r}")
        return str(value)
    if tp is Path:
        return Path(value)
    return value


def from_dict(cls: type[T], data: dict[str, Any] | None, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a (nested) mapping; unknown keys raise ConfigError."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"from_dict needs a dataclass, got {cls!r}")
    data = dict(data or {})
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            raise ConfigError(f"unknown config key '{dotted}' (valid keys here: {', '.join(names)})")
        kwargs[key] = _coerce(value, hints[key], dotted)
    try:
        cfg = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config '{prefix or cls.__name__}': {exc}") from None
    check_ranges(cfg, prefix)
    return cfg


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, YAML/JSON-friendly dict of a (nested) config dataclass."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    return plain(cfg)


def apply_overrides(data: dict[str, Any], overrides: list[str] | None) -> dict[str, Any]:
    """Apply ``a.b=value`` strings to a nested dict (values parsed as YAML scalars)."""
    out = dict(data)
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override '{item}' must look like key=value (e.g. train.lr=1e-3)")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.get(part)
            child = dict(child) if isinstance(child, dict) else {}
            node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    base: T | None = None,
) -> T:
    """Config from defaults (or ``base``), then a YAML file, then ``key=value`` overrides."""
    data: dict[str, Any] = to_dict(base) if base is not None else {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
        data = _merge(data, loaded)
    data = apply_overrides(data, overrides)
    return from_dict(cls, data)


def save_config(cfg: Any, path: str | Path) -> Path:
    """Write the final config as YAML (or JSON when the suffix is .json)."""
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = to_dict(cfg)
    if path.suffix == ".json":
        path.write_text(json.dumps(data, indent=2) + "\n")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "{" + ",".join(str(a) for a in typing.get_args(tp)) + "}"
    if origin in (typing.Union, types.UnionType):
        return "|".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin in (list, tuple):
        return "LIST"
    return getattr(tp, "__name__", str(tp)).upper()


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, prefix: str = "") -> None:
    """Add one ``--section.key`` option per (nested) dataclass field, documented by its help.

    Options default to ``argparse.SUPPRESS`` so only what the user typed overrides the YAML file.
    """
    hints = _hints(cls)
    group = parser.add_argument_group(f"{prefix or cls.__name__} options") if prefix else parser
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        dotted = f"{prefix}.{f.name}" if prefix else f.name
        if _is_dataclass_type(tp):
            add_config_arguments(parser, tp, dotted)
            continue
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else (f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        )
        help_text = f.metadata.get("help", "")
        allowed = range_text(f.metadata)
        group.add_argument(
            f"--{dotted}",
            dest=f"cfg__{dotted}",
            default=argparse.SUPPRESS,
            metavar=_type_name(tp),
            help=f"{help_text} (default: {default}" + (f"; {allowed})" if allowed else ")"),
        )


class _SectionItems(argparse.Action):
    """``--krr KEY=VALUE`` (repeatable): writes config key ``SECTION.KEY`` as ``--SECTION.KEY VALUE`` would."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        key, sep, value = str(values).partition("=")
        if not sep or not key.strip():
            parser.error(f"argument {option_string}: {values!r} must look like KEY=VALUE")
        setattr(namespace, f"cfg__{self.dest}.{key.strip()}", value)


def add_config_alias(
    parser: argparse.ArgumentParser | Any,
    flag: str,
    key: str,
    *,
    const: Any = dataclasses.MISSING,
    items: bool = False,
    **kwargs: Any,
) -> None:
    """An older spelling ``flag`` of the option ``--KEY`` that :func:`add_config_arguments` added: it writes the
    same config field (so one range check, one error naming ``KEY``). ``const``: a switch that writes that value
    (``--transductive`` for ``--zsl.transductive true``); ``items``: ``flag KEY=VALUE`` (repeatable) writes
    ``KEY.KEY`` of the section ``KEY``. Other keywords (``choices``, ``metavar``) go to argparse."""
    help_text = kwargs.pop("help", "")
    if not kwargs.get("metavar") and "choices" not in kwargs:
        kwargs["metavar"] = key.rsplit(".", 1)[-1].upper()
    if items:
        where = f"--{key}.KEY VALUE"
        kwargs["metavar"] = "KEY=VALUE"
        parser.add_argument(
            flag,
            dest=key,
            action=_SectionItems,
            default=argparse.SUPPRESS,
            help=f"{help_text + '; ' if help_text else ''}the same as {where} (repeatable)",
            **kwargs,
        )
    elif const is not dataclasses.MISSING:
        shown = str(const).lower() if isinstance(const, bool) else const
        kwargs.pop("metavar", None)
        parser.add_argument(
            flag,
            dest=f"cfg__{key}",
            action="store_const",
            const=const,
            default=argparse.SUPPRESS,
            help=f"{help_text + '; ' if help_text else ''}the same as --{key} {shown}",
            **kwargs,
        )
    else:
        parser.add_argument(
            flag,
            dest=f"cfg__{key}",
            default=argparse.SUPPRESS,
            help=f"{help_text + '; ' if help_text else ''}the same as --{key}",
            **kwargs,
        )


def config_from_args(cls: type[T], args: argparse.Namespace, path: str | Path | None = None, prefix: str = "") -> T:
    """The config of ``cls`` from a YAML file plus the ``--section.key`` options typed.

    ``prefix``: read only the ``--PREFIX.key`` options (those :func:`add_config_arguments` added with that
    prefix); errors then name the keys with it. Without a prefix, the options of the sections of ``cls`` (a
    parser may hold other configs' ``--PREFIX.key`` options beside them). ``--set`` overrides apply only
    without a prefix.
    """
    start = f"cfg__{prefix}." if prefix else "cfg__"
    mine = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    overrides = [
        f"{name[len(start) :]}={value}"
        for name, value in vars(args).items()
        if name.startswith(start) and (prefix or name[len(start) :].split(".")[0] in mine)
    ]
    if not prefix:
        overrides += list(getattr(args, "set", None) or [])
        return load_config(cls, path, overrides)
    data = apply_overrides({}, overrides)
    return from_dict(cls, data, prefix=prefix)


def execution_keys(cls: type, prefix: str = "") -> frozenset[str]:
    """The dotted keys of the fields of config class ``cls`` (recursively) declared ``option(..., execution=True)``."""
    keys: set[str] = set()
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        dotted = f"{prefix}.{f.name}" if prefix else f.name
        if _is_dataclass_type(hints[f.name]):
            keys |= execution_keys(hints[f.name], dotted)
        elif f.metadata.get("execution"):
            keys.add(dotted)
    return frozenset(keys)
