"""Registry of clip backbones: ``create_backbone(name, ...)`` and ``list_backbones()``.

A backbone module registers a factory with ``@register_backbone("name")`` (optionally
``cls=TheBackboneClass``); the factory has the signature
``factory(weights: Path | None, random_weights: bool, layer: str | None) -> Backbone``.
A name of the form ``package.module:name`` imports that module first, so users can plug in their
own backbones without touching the package. ``hf:PATH`` is the exception: a local Hugging Face
``save_pretrained`` folder (``video/backbones/hf.py``), whose folder is its weights.

Backbones that need weights (class attribute ``needs_weights = True``, the default) refuse to start
without ``weights`` unless ``random_weights`` is asked for explicitly, and then log a warning (the
store records it too). Weight-free backbones (``needs_weights = False``) need neither. Random weights
are drawn with a fixed seed, so every process (e.g. every torchrun rank) gets the same model.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import torch

from action2vec.errors import ConfigError
from action2vec.io import hash_file
from action2vec.video.backbones.base import Backbone

__all__ = ["Backbone", "register_backbone", "create_backbone", "list_backbones", "backbone_class", "needs_weights"]

log = logging.getLogger(__name__)

Factory = Callable[[Path | None, bool, str | None], Backbone]

_FACTORIES: dict[str, Factory] = {}
_CLASSES: dict[str, type[Backbone] | None] = {}
# backbones named ``NAME:PATH`` whose PATH is their weights folder (the factory gets it as ``weights``)
FOLDER_NAMED = ("hf",)


def _folder_spec(name: str) -> tuple[str, str | None]:
    """``("hf", "PATH")`` for ``hf:PATH`` (``("hf", None)`` for a bare ``hf``); ``(name, None)`` otherwise."""
    prefix, sep, rest = name.partition(":")
    if prefix in FOLDER_NAMED:
        return prefix, (rest or None) if sep else None
    return name, None


def register_backbone(name: str, cls: type[Backbone] | None = None) -> Callable[[Factory], Factory]:
    """Decorator registering ``factory`` under ``name``.

    ``cls`` (optional) is the Backbone class the factory returns; it lets ``create_backbone`` check
    ``needs_weights`` before building. When it is omitted and the factory is itself a Backbone
    subclass, that class is used.
    """

    def decorator(factory: Factory) -> Factory:
        if name in _FACTORIES:
            raise ValueError(f"backbone {name!r} is registered twice")
        _FACTORIES[name] = factory
        if cls is not None:
            _CLASSES[name] = cls
        elif isinstance(factory, type) and issubclass(factory, Backbone):
            _CLASSES[name] = factory
        else:
            _CLASSES[name] = getattr(factory, "backbone_class", None)
        return factory

    return decorator


def list_backbones() -> list[str]:
    """Names of the registered backbones, sorted."""
    return sorted(_FACTORIES)


def _resolve(name: str) -> str:
    """Registered name of ``name``; ``"package.module:name"`` imports a plug-in module first."""
    name = _folder_spec(name)[0]
    if name in _FACTORIES:
        return name
    if ":" in name:
        import importlib

        module, _, short = name.partition(":")
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"backbone: cannot import plug-in module {module!r} ({exc})") from None
        if short in _FACTORIES:
            return short
    raise ConfigError(f"backbone: unknown name {name!r}; choose one of {list_backbones()} or MODULE:NAME")


def backbone_class(name: str) -> type[Backbone] | None:
    """The Backbone class registered for ``name`` (None when the factory did not say)."""
    return _CLASSES.get(_resolve(name))


def needs_weights(name: str) -> bool:
    """Whether backbone ``name`` needs ``weights`` or ``random_weights`` (True when unknown)."""
    cls = backbone_class(name)
    return True if cls is None else bool(getattr(cls, "needs_weights", True))


def create_backbone(
    name: str,
    weights: Path | str | None = None,
    random_weights: bool = False,
    layer: str | None = None,
) -> Backbone:
    """Build backbone ``name`` in eval mode.

    ``weights`` is a local file or folder; ``random_weights=True`` is the explicit opt-in to an
    untrained model (logged as a warning and recorded in the store metadata). Weight-free backbones
    (``needs_weights = False``) accept neither being given.
    """
    base, folder = _folder_spec(name)
    if folder is not None:
        if weights is not None or random_weights:
            raise ConfigError(
                f"backbone '{name}': the folder holds the weights; leave out --weights and --random-weights"
            )
        weights = folder
    name = _resolve(base)
    cls = backbone_class(name)
    weights = Path(weights) if weights is not None else None
    if weights is not None and random_weights:
        raise ConfigError("backbone: give either --weights or --random-weights, not both")
    wants_weights = needs_weights(name)
    cached = cls is not None and bool(getattr(cls, "cached_weights", False))
    if cls is not None and wants_weights and not cached and weights is None and not random_weights:
        raise ConfigError(
            f"backbone '{name}' needs pretrained weights: pass --weights PATH, or --random-weights "
            "to run it untrained (features are then meaningless for zero-shot work)"
        )
    if weights is not None and not weights.exists() and folder is None:  # hf:PATH says it in one line itself
        raise ConfigError(f"backbone '{name}': weights file {weights} does not exist")
    if wants_weights and random_weights:
        log.warning("backbone '%s' runs with RANDOM weights; the store metadata records random_weights=true", name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # random weights are the same in every process (torchrun ranks agree)
        model = _FACTORIES[name](weights, random_weights, layer)
    untrained = not getattr(model, "pretrained", False) and getattr(model, "needs_weights", True)
    if cls is None and weights is None and not random_weights and untrained:
        raise ConfigError(
            f"backbone '{name}' needs pretrained weights: pass --weights PATH, or --random-weights to run it untrained"
        )
    if cls is not None and not isinstance(model, cls):
        raise TypeError(f"backbone factory {name!r} returned {type(model).__name__}, not {cls.__name__}")
    if weights is not None and weights.is_file():
        model.weights_sha256 = hash_file(weights).hexdigest()  # the store records which weights made its features
    return model.eval()


def _load_builtin() -> None:
    """Import the backbone modules so that they register themselves (optional ones may be absent)."""
    import importlib

    importlib.import_module("action2vec.video.backbones.c3d")
    for optional in ("torchvision_models", "motion", "hf"):
        module = f"action2vec.video.backbones.{optional}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_load_builtin()
