"""Class names → an English phrase, its verb (WordNet lemma) and its nouns.

Rules, in order (docs/labels.md has examples):

1. An override for the name (exact, else ignoring case, spaces, ``_`` and ``-``) wins outright.
2. ``(not …)`` qualifiers are dropped; other parenthesised words are appended as written, as nouns
   ("curling (sport)" → "curl sport", "punching person (boxing)" → "punch person boxing").
3. CamelCase, snake_case, ``-`` and ``'s`` are split into lower-case words (names written with spaces
   keep their case: "American").
4. The verb is the WordNet lemma (morphy) of the first ``-ing`` word that is a verb form. Without
   one, the first word when WordNet lists more verb than noun senses for it ("ThrowDiscus", "kick_ball"),
   else the last verb word (compound nouns: "JavelinThrow" → "throw", "pillow fight" → "fight").
   An ``-ing`` word WordNet does not know ("bartending") gets the verb made by removing "ing" when that
   ends in a verb WordNet knows ("bartend" ends in "tend"); its surface form stays in the phrase.
   ``-ing`` verb forms (both sides of "X or Y" / "X and Y") become their lemma in the phrase
   ("PlayingViolin" → "play violin", "canoeing or kayaking" → "canoe or kayak"); other words stay.
5. Nouns are the remaining words less function words ("a", "or", "with", …) and the verbs.

A name without a verb keeps ``verb == ""``: add it to an overrides file. Overrides are YAML, one entry
per class: ``Name: phrase`` or ``Name: {phrase: ..., verb: ..., nouns: [...]}`` (verb and nouns default
to what the rules make of the phrase).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from action2vec.errors import DataError

BUILTIN_OVERRIDES = "label_overrides.yaml"

# Words that are neither the verb nor a noun of a label; word-vector embedders also skip them.
FUNCTION_WORDS = frozenset(
    "a an the and or of to in on at with without into onto from for by off out up down over under "
    "through around about while not".split()
)


@dataclass(frozen=True)
class NormalizedLabel:
    """A class name as text: ``phrase`` is what gets embedded; ``verb`` its lemma ("" when none)."""

    name: str
    phrase: str
    verb: str
    nouns: tuple[str, ...] = field(default_factory=tuple)
    source: str = "rules"  # "rules", or the overrides file the entry came from


@dataclass(frozen=True)
class Override:
    """One entry of an overrides file; ``verb``/``nouns`` None means "derive from the phrase"."""

    phrase: str
    verb: str | None = None
    nouns: tuple[str, ...] | None = None
    source: str = ""


def override_key(name: str) -> str:
    """The spelling-insensitive key of a class name ("CleanAndJerk" and "clean and jerk" agree)."""
    return re.sub(r"[^0-9a-z()]+", "", name.lower())


# ---------------------------------------------------------------------------------------------
# overrides files


def _parse_entry(name: Any, value: Any, source: str) -> Override:
    if isinstance(value, str) and value.strip():
        return Override(value.strip(), source=source)
    if isinstance(value, Mapping):
        unknown = set(value) - {"phrase", "verb", "nouns"}
        if unknown or not isinstance(value.get("phrase"), str) or not value["phrase"].strip():
            raise DataError(
                f"{source}: entry {name!r} must be a phrase or {{phrase, verb, nouns}}"
                + (f" (unknown keys: {', '.join(sorted(map(str, unknown)))})" if unknown else "")
            )
        nouns = value.get("nouns")
        if nouns is not None and (not isinstance(nouns, list) or not all(isinstance(n, str) for n in nouns)):
            raise DataError(f"{source}: entry {name!r}: nouns must be a list of words")
        verb = value.get("verb")
        if verb is not None and not isinstance(verb, str):
            raise DataError(f"{source}: entry {name!r}: verb must be a word")
        return Override(value["phrase"].strip(), verb, tuple(nouns) if nouns is not None else None, source)
    raise DataError(f"{source}: entry {name!r} must be a phrase or {{phrase, verb, nouns}}, not {value!r}")


def parse_overrides(data: Any, source: str) -> dict[str, Override]:
    """Overrides from a mapping ``{class name: phrase | {phrase, verb, nouns}}``."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise DataError(f"{source}: overrides must be a mapping of class name to phrase")
    return {str(name): _parse_entry(name, value, source) for name, value in data.items()}


def read_overrides(path: str | Path) -> dict[str, Override]:
    """The overrides in a YAML (or JSON) file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: overrides file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_overrides(data, str(path))


@lru_cache(maxsize=1)
def builtin_overrides() -> dict[str, Override]:
    """The overrides shipped with action2vec (``resources/label_overrides.yaml``)."""
    text = resources.files("action2vec").joinpath("resources", BUILTIN_OVERRIDES).read_text(encoding="utf-8")
    return parse_overrides(yaml.safe_load(text), f"action2vec/resources/{BUILTIN_OVERRIDES}")


def load_overrides(
    overrides: str | Path | Mapping[str, Any] | None = None, *, builtin: bool = True
) -> dict[str, Override]:
    """The built-in overrides updated with the user's (a file path or a mapping), keyed by class name."""
    merged = dict(builtin_overrides()) if builtin else {}
    if isinstance(overrides, (str, Path)):
        merged.update(read_overrides(overrides))
    elif overrides is not None:
        merged.update(
            {k: v if isinstance(v, Override) else _parse_entry(k, v, "overrides") for k, v in overrides.items()}
        )
    return merged


def check_overrides(overrides: Mapping[str, Override], class_names: Iterable[str], source: str | Path) -> None:
    """Every entry of a user's overrides must name a class of ``class_names`` (catches typos)."""
    import difflib

    keys = {override_key(n): n for n in class_names}
    for name in overrides:
        if name not in keys.values() and override_key(name) not in keys:
            close = difflib.get_close_matches(name, list(keys.values()), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(f"{source}: {name!r} is not one of the {len(keys)} class names{hint}")


def _find_override(name: str, overrides: Mapping[str, Override]) -> Override | None:
    if name in overrides:
        return overrides[name]
    key = override_key(name)
    for candidate, entry in overrides.items():
        if override_key(candidate) == key:
            return entry
    return None


# ---------------------------------------------------------------------------------------------
# rules

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def split_words(name: str) -> list[str]:
    """Words of a class name: CamelCase/snake_case/kebab-case split, ``(not …)`` and ``'s`` dropped."""
    text = re.sub(r"\(\s*not\b[^)]*\)", " ", name, flags=re.IGNORECASE)
    text = re.sub(r"[()]", " ", text)
    text = re.sub(r"'s\b|’s\b", "", text)
    spaced = " " in text.strip()  # names written with spaces keep their case ("American")
    words: list[str] = []
    for chunk in re.split(r"[\s_\-/,&]+", text):
        if spaced:
            words.append(chunk)
        else:
            words.extend(part.lower() for part in _CAMEL.findall(chunk))
    return [w for w in (re.sub(r"[^\w]", "", w) for w in words) if w]


def _verb_lemma(word: str, wordnet: Any) -> str | None:
    if word.lower() in FUNCTION_WORDS:
        return None
    return wordnet.morphy(word.lower(), "v")


def _compound_ing_lemma(word: str, wordnet: Any) -> str | None:
    """"bartending" → "bartend": an ``-ing`` word WordNet lacks whose stem ends in a verb it knows."""
    word = word.lower()
    if not word.endswith("ing") or len(word) < 7:
        return None
    stem = word[:-3]
    candidates = [stem, stem + "e"] + ([stem[:-1]] if stem[-1] == stem[-2] else [])
    for candidate in candidates:
        for start in range(2, len(candidate) - 2):
            tail = candidate[start:]
            if wordnet.morphy(tail, "v") == tail and tail not in FUNCTION_WORDS:
                return candidate
    return None


def _mainly_verb(word: str, wordnet: Any) -> bool:
    """WordNet lists more verb senses than noun senses for ``word``."""
    return len(wordnet.synsets(word.lower(), "v")) > len(wordnet.synsets(word.lower(), "n"))


def _verb_share(word: str, wordnet: Any) -> float:
    """Fraction of ``word``'s WordNet senses (verb + noun) that are verb senses."""
    v, n = len(wordnet.synsets(word.lower(), "v")), len(wordnet.synsets(word.lower(), "n"))
    return v / max(v + n, 1)


def _analyse(words: list[str], wordnet: Any) -> tuple[str, str, tuple[str, ...]]:
    """(phrase, verb, nouns) of split ``words`` by the rules in the module docstring."""
    # a gerund: an -ing word whose verb lemma is another word ("ring", "sing" are base forms, not gerunds)
    lemmas = [_verb_lemma(w, wordnet) if w.lower().endswith("ing") else None for w in words]
    lemmas = [lemma if lemma and lemma != w.lower() else None for w, lemma in zip(words, lemmas)]
    verb_at = next((i for i, lemma in enumerate(lemmas) if lemma), None)
    verb = lemmas[verb_at] if verb_at is not None else ""
    if verb_at is None:
        compound = [(i, _compound_ing_lemma(w, wordnet)) for i, w in enumerate(words)]
        verb_at, verb = next(((i, lemma) for i, lemma in compound if lemma), (None, ""))
    if verb_at is None:
        verbs = [(i, lemma) for i, lemma in enumerate(_verb_lemma(w, wordnet) for w in words) if lemma]
        if verbs:
            # "verb object" ("ThrowDiscus", "kick_ball") or a compound noun naming an action ("JavelinThrow",
            # "pillow fight"): the first word counts only when it is mainly a verb.
            first_ok = len(words) == 1 or (
                verbs[0][0] == 0
                and (_mainly_verb(words[0], wordnet) or _verb_share(words[0], wordnet) > _verb_share(words[verbs[-1][0]], wordnet))
            )
            verb_at, verb = verbs[0] if first_ok else verbs[-1]
    phrase_words = [lemma or word for word, lemma in zip(words, lemmas)]
    nouns = tuple(
        w for i, w in enumerate(phrase_words) if not lemmas[i] and i != verb_at and w.lower() not in FUNCTION_WORDS
    )
    return " ".join(phrase_words), verb, nouns


def normalize_label(
    name: str,
    overrides: str | Path | Mapping[str, Any] | None = None,
    *,
    wordnet: Any | None = None,
) -> NormalizedLabel:
    """The phrase, verb and nouns of class ``name``.

    ``overrides``: None (the built-in overrides), a YAML file or a mapping (applied over the built-in
    ones). ``wordnet``: a reader from :func:`load_wordnet` (default: the one it finds).
    """
    if not name or not name.strip():
        raise DataError("class name is empty")
    table = overrides if _is_loaded(overrides) else load_overrides(overrides)
    if wordnet is None:
        from action2vec.text.wordnet import load_wordnet

        wordnet = load_wordnet()
    entry = _find_override(name, table)  # type: ignore[arg-type]
    if entry is not None:
        _, verb, nouns = _analyse(split_words(entry.phrase), wordnet)
        phrase = entry.phrase
        return NormalizedLabel(
            name,
            phrase,
            entry.verb if entry.verb is not None else verb,
            entry.nouns if entry.nouns is not None else nouns,
            entry.source or "overrides",
        )
    qualifiers = [q for q in re.findall(r"\(([^)]*)\)", name) if not re.match(r"\s*not\b", q, re.IGNORECASE)]
    words = split_words(re.sub(r"\([^)]*\)", " ", name))
    if not words:
        raise DataError(f"class name {name!r} has no words")
    phrase, verb, nouns = _analyse(words, wordnet)
    extra = [w for q in qualifiers for w in split_words(q)]
    if extra:
        phrase = " ".join([phrase, *extra])
        nouns = nouns + tuple(w for w in extra if w.lower() not in FUNCTION_WORDS)
    return NormalizedLabel(name, phrase, verb, nouns)


def _is_loaded(overrides: Any) -> bool:
    return isinstance(overrides, Mapping) and all(isinstance(v, Override) for v in overrides.values())


def normalize_labels(
    names: Iterable[str],
    overrides: str | Path | Mapping[str, Any] | None = None,
    *,
    wordnet: Any | None = None,
    check: bool = True,
) -> list[NormalizedLabel]:
    """:func:`normalize_label` for a class list; a user's overrides file is checked for typos first."""
    names = list(names)
    if not names:
        raise DataError("the class list is empty")
    if check and overrides is not None and not _is_loaded(overrides):
        if isinstance(overrides, (str, Path)):
            check_overrides(read_overrides(overrides), names, overrides)
        else:
            check_overrides(parse_overrides(overrides, "overrides"), names, "overrides")
    table = load_overrides(overrides) if not _is_loaded(overrides) else overrides
    if wordnet is None:
        from action2vec.text.wordnet import load_wordnet

        wordnet = load_wordnet()
    return [normalize_label(n, table, wordnet=wordnet) for n in names]


def group_by_verb(
    labels: list[NormalizedLabel], *, min_size: int = 2, require_nouns: bool = True
) -> dict[str, list[NormalizedLabel]]:
    """Labels that share a verb: ``{verb: [labels]}`` for verbs with at least ``min_size`` labels.

    With ``require_nouns`` (the analogy test needs a noun to subtract) labels without nouns are left
    out, and so are repeated noun sets within a verb (the first label keeps its place). Verbs are
    sorted; labels keep their input order.
    """
    groups: dict[str, list[NormalizedLabel]] = {}
    for label in labels:
        if not label.verb or (require_nouns and not label.nouns):
            continue
        group = groups.setdefault(label.verb, [])
        if require_nouns and any(g.nouns == label.nouns for g in group):
            continue
        group.append(label)
    return {verb: group for verb, group in sorted(groups.items()) if len(group) >= min_size}
