"""Class names → an English phrase, its verbs (WordNet lemmas) and its nouns.

Rules, in order (docs/labels.md has examples and the audit over the real class lists):

1. An override for the name (exact, else ignoring case, spaces, ``_`` and ``-``) wins outright.
2. ``(not …)`` qualifiers are dropped; other parenthesised words are appended as written, as nouns
   ("curling (sport)" → "curl sport", "punching person (boxing)" → "punch person boxing").
3. CamelCase, snake_case, ``-`` and ``'s`` are split into lower-case words (names written with spaces
   keep their case: "American").
4. Verb: a word's verb lemma is its most common WordNet verb lemma (SemCor counts, :func:`verb_lemma`:
   "swinging" → "swing", not the rare "swinge"). The verb is the lemma of the first ``-ing`` verb form;
   else of the first ``-ing`` word WordNet lacks, read as a two-part WordNet verb ("blowdrying" →
   "blow-dry") or as its stem when that ends in a verb ("bartending" → "bartend"); else, among words that
   are a verb's base or ``-s`` form (a past form such as "shot" is a thing), the first word when it is
   mainly a verb ("ThrowDiscus", "kick_ball"), else the last ("JavelinThrow" → "throw").
   A compound verb WordNet has stays whole: a word before the gerund ("sky diving" → "skydive", "ice
   skating" → "ice_skate") or a mainly-verb word after the verb ("BlowDryHair" → "blow-dry", "letting go"
   → "let_go"); particles ("up", "out", "on") never join.
5. ``A or B`` (and ``A and B``) verb forms: ``verbs`` lists every one ("catching or throwing baseball" →
   ("catch", "throw")); ``verb`` is the first.
6. Phrase: the words, with the verb's and the coordinated verbs' ``-ing`` forms replaced by their lemmas
   ("PlayingViolin" → "play violin"; an ``-ing`` form WordNet lacks by its lemma's words: "breadcrumbing" →
   "breadcrumb", "blowdrying" → "blow dry"); other ``-ing`` words are nouns and stay ("getting a piercing" →
   "get a piercing", "BoxingPunchingBag" → "box punching bag").
7. Nouns: the remaining words, less function words ("a", "or", "with", "be", "go", "something", …) and words
   WordNet knows only as adjectives or adverbs ("RockClimbingIndoor" has the noun "rock", not "indoor"; -ing
   and -ed forms stay: "a piercing").

A name without a verb keeps ``verb == ""``: add it to an overrides file. Overrides are YAML, one entry
per class: ``Name: phrase`` or ``Name: {phrase: ..., verb: ..., verbs: [...], nouns: [...]}`` (what is
left out is what the rules make of the phrase; ``verb`` defaults to the first of ``verbs``).
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
# Words that are never a label's noun (nor join a compound verb): function words, auxiliaries, pronouns.
NOT_NOUNS = FUNCTION_WORDS | frozenset(
    "be being been is are was were am go goes going get gets do does did have has had as than like across "
    "along against among behind beside between inside outside upon toward towards after before during "
    "it its it's his her their them they he she we you your my our one someone somebody something "
    "anything anyone everything".split()
)


@dataclass(frozen=True)
class NormalizedLabel:
    """A class name as text: ``phrase`` is what gets embedded; ``verb`` its (first) verb lemma ("" when
    none); ``verbs`` every verb of the name ("catching or throwing X": ("catch", "throw")), ``verbs[0] ==
    verb``; it defaults to ``(verb,)``."""

    name: str
    phrase: str
    verb: str
    nouns: tuple[str, ...] = field(default_factory=tuple)
    source: str = "rules"  # "rules", or the overrides file the entry came from
    verbs: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.verbs and self.verb:
            object.__setattr__(self, "verbs", (self.verb,))
        elif self.verbs and self.verbs[0] != self.verb:
            raise ValueError(f"{self.name!r}: verbs {self.verbs} must start with verb {self.verb!r}")


@dataclass(frozen=True)
class Override:
    """One entry of an overrides file; ``verb``/``verbs``/``nouns`` None means "derive from the phrase"."""

    phrase: str
    verb: str | None = None
    nouns: tuple[str, ...] | None = None
    source: str = ""
    verbs: tuple[str, ...] | None = None


def label_verbs(label: Any) -> tuple[str, ...]:
    """Every verb of a label (NormalizedLabel-like): ``.verbs`` when it has them, else ``(.verb,)``."""
    verbs = tuple(getattr(label, "verbs", ()) or ())
    return verbs or ((label.verb,) if label.verb else ())


def override_key(name: str) -> str:
    """The spelling-insensitive key of a class name ("CleanAndJerk" and "clean and jerk" agree)."""
    return re.sub(r"[^0-9a-z()]+", "", name.lower())


# ---------------------------------------------------------------------------------------------
# overrides files


def _word_list(value: Any, key: str, name: Any, source: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{source}: entry {name!r}: {key} must be a list of words")
    return tuple(value)


def _parse_entry(name: Any, value: Any, source: str) -> Override:
    if isinstance(value, str) and value.strip():
        return Override(value.strip(), source=source)
    if isinstance(value, Mapping):
        unknown = set(value) - {"phrase", "verb", "verbs", "nouns"}
        if unknown or not isinstance(value.get("phrase"), str) or not value["phrase"].strip():
            raise DataError(
                f"{source}: entry {name!r} must be a phrase or {{phrase, verb, verbs, nouns}}"
                + (f" (unknown keys: {', '.join(sorted(map(str, unknown)))})" if unknown else "")
            )
        nouns = _word_list(value.get("nouns"), "nouns", name, source)
        verbs = _word_list(value.get("verbs"), "verbs", name, source)
        verb = value.get("verb")
        if verb is not None and not isinstance(verb, str):
            raise DataError(f"{source}: entry {name!r}: verb must be a word")
        if verbs is not None and verb is None:
            verb = verbs[0] if verbs else ""
        if verbs and verbs[0] != verb:
            raise DataError(f"{source}: entry {name!r}: verbs must start with verb {verb!r}")
        return Override(value["phrase"].strip(), verb, nouns, source, verbs)
    raise DataError(f"{source}: entry {name!r} must be a phrase or {{phrase, verb, verbs, nouns}}, not {value!r}")


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


def _is_verb_lemma(candidate: str, wordnet: Any) -> bool:
    return any(lemma.name().lower() == candidate for lemma in wordnet.lemmas(candidate, "v"))


def _lemma_count(lemma: Any) -> int:
    """SemCor frequency of a WordNet lemma; 0 when the database has no ``cntlist.rev``."""
    try:
        return int(lemma.count())
    except Exception:  # noqa: BLE001 - a WordNet folder without cntlist.rev (Debian's)
        return 0


def _verb_frequency(candidate: str, wordnet: Any) -> tuple[int, int, int]:
    """How common ``candidate`` is as a verb: (SemCor count, senses where it is the synset's first spelling,
    senses) -- the sort key that prefers "swing" to "swinge" and "install" to "instal"."""
    lemmas = [lemma for lemma in wordnet.lemmas(candidate, "v") if lemma.name().lower() == candidate]
    first = sum(lemma.synset().lemmas()[0].name().lower() == candidate for lemma in lemmas)
    return sum(_lemma_count(lemma) for lemma in lemmas), first, len(lemmas)


# one-syllable consonant-vowel-consonant stems double their consonant before -ing ("planning"), so "planing"
# is "plane", never "plan"
_UNDOUBLED = re.compile(r"^[^aeiouy]*[aeiou][^aeiouwxy]$")


def verb_lemma(word: str, wordnet: Any) -> str | None:
    """The most common WordNet verb lemma of a word form, or None ("swinging" -> "swing", not the rare
    "swinge"; "installing" -> "install"; "planing" -> "plane"). Function words are never verbs."""
    word = word.lower()
    if word in FUNCTION_WORDS:
        return None
    candidates = [wordnet.morphy(word, "v")]
    if word.endswith("ing") and len(word) > 4:
        stem = word[:-3]
        candidates += [stem + "e"] + ([] if _UNDOUBLED.match(stem) else [stem])
        if len(stem) > 2 and stem[-1] == stem[-2]:
            candidates.append(stem[:-1])
    found = list(dict.fromkeys(c for c in candidates if c and _is_verb_lemma(c, wordnet)))
    if not found:
        return None
    return max(found, key=lambda c: _verb_frequency(c, wordnet))  # ties keep morphy's answer (first)


def _gerund_lemma(word: str, wordnet: Any) -> str | None:
    """The verb of an ``-ing`` verb form; None for base forms that end in -ing ("ring", "swing")."""
    if not word.lower().endswith("ing"):
        return None
    lemma = verb_lemma(word, wordnet)
    return lemma if lemma and lemma != word.lower() else None


def _compound_ing_lemma(word: str, wordnet: Any) -> str | None:
    """The verb of an ``-ing`` word WordNet lacks: a two-part verb WordNet has ("blowdrying" -> "blow-dry",
    "breakdancing" -> "break_dance"), else the stem when it ends in a verb ("bartending" -> "bartend")."""
    word = word.lower()
    if not word.endswith("ing") or len(word) < 7:
        return None
    stem = word[:-3]
    candidates = [stem, stem + "e"] + ([stem[:-1]] if stem[-1] == stem[-2] else [])
    for candidate in candidates:
        for start in range(2, len(candidate) - 1):
            for joined in (f"{candidate[:start]}-{candidate[start:]}", f"{candidate[:start]}_{candidate[start:]}"):
                if _is_verb_lemma(joined, wordnet):
                    return joined
    for candidate in candidates:
        for start in range(2, len(candidate) - 2):
            tail = candidate[start:]
            if wordnet.morphy(tail, "v") == tail and tail not in FUNCTION_WORDS:
                return candidate
    return None


def _compound_verb(first: str, second: str, wordnet: Any) -> str | None:
    """The WordNet verb spelt ``first`` + ``second`` closed, hyphenated or with ``_`` ("skydive", "blow-dry",
    "ice_skate", "let_go"), or None."""
    for joined in (first + second, f"{first}-{second}", f"{first}_{second}"):
        if _is_verb_lemma(joined, wordnet):
            return joined
    return None


def _mainly_verb(word: str, wordnet: Any) -> bool:
    """WordNet lists more verb senses than noun senses for ``word``."""
    return len(wordnet.synsets(word.lower(), "v")) > len(wordnet.synsets(word.lower(), "n"))


def _verb_share(word: str, wordnet: Any) -> float:
    """Fraction of ``word``'s WordNet senses (verb + noun) that are verb senses."""
    v, n = len(wordnet.synsets(word.lower(), "v")), len(wordnet.synsets(word.lower(), "n"))
    return v / max(v + n, 1)


def _usage(word: str, pos: str, wordnet: Any) -> int:
    """SemCor count of ``word`` as part of speech ``pos``, over its spellings ("hands": "hands" and "hand")."""
    word = word.lower()
    forms = {word, wordnet.morphy(word, pos) or word}
    if word.endswith("s"):
        forms |= {word[:-1], word[:-2]} if word.endswith("es") else {word[:-1]}
    return sum(
        _lemma_count(lemma) for form in forms for lemma in wordnet.lemmas(form, pos) if lemma.name().lower() == form
    )


def _plain_verb(word: str, wordnet: Any) -> str | None:
    """The verb lemma of a word that is not an ``-ing`` form: only its base form or its ``-s`` form counts
    ("raises" -> "raise"); a past form names a thing ("CricketShot" has no verb "shoot")."""
    lemma = verb_lemma(word, wordnet)
    return lemma if lemma and (lemma == word.lower() or word.lower().endswith("s")) else None


def _find_verb(words: list[str], wordnet: Any) -> tuple[int | None, str, bool]:
    """(position, lemma, from a gerund) of the verb of ``words`` (rule 4 of the module docstring)."""
    for i, word in enumerate(words):
        lemma = _gerund_lemma(word, wordnet)
        if lemma:
            return i, lemma, True
    for i, word in enumerate(words):
        lemma = _compound_ing_lemma(word, wordnet)
        if lemma:
            return i, lemma, True
    verbs = [(i, lemma) for i, lemma in enumerate(_plain_verb(w, wordnet) for w in words) if lemma]
    if not verbs:
        return None, "", False
    # "verb object" ("ThrowDiscus", "kick_ball") or a compound noun naming an action ("JavelinThrow",
    # "pillow fight"): the first word counts only when it is mainly a verb.
    first, last = words[0], words[verbs[-1][0]]
    first_ok = len(words) == 1 or (
        verbs[0][0] == 0 and (_mainly_verb(first, wordnet) or _verb_share(first, wordnet) > _verb_share(last, wordnet))
    )
    i, lemma = verbs[0] if first_ok else verbs[-1]
    return i, lemma, False


def _whole_verb(words: list[str], at: int, verb: str, gerund: bool, wordnet: Any) -> tuple[list[int], str]:
    """Positions and lemma of the verb at ``at`` kept whole with a neighbour when WordNet has the compound:
    a word before a gerund ("sky diving" -> "skydive", "ice skating" -> "ice_skate") or a mainly-verb word
    after the verb ("blow dry" -> "blow-dry", "letting go" -> "let_go"); particles never join."""
    if gerund and at > 0 and words[at - 1].lower() not in NOT_NOUNS:
        joined = _compound_verb(words[at - 1].lower(), verb, wordnet)
        if joined:
            return [at - 1, at], joined
    if at + 1 < len(words) and words[at + 1].lower() not in FUNCTION_WORDS:
        following = words[at + 1].lower()
        second = verb_lemma(following, wordnet)
        if second and _usage(following, "v", wordnet) > _usage(following, "n", wordnet):
            joined = _compound_verb(verb, second, wordnet) or _compound_verb(verb, following, wordnet)
            if joined:
                return [at, at + 1], joined
    return [at], verb


def _coordinated_verbs(words: list[str], at: int, wordnet: Any) -> list[tuple[int, str]]:
    """Verbs joined to the verb at ``at`` by "or"/"and" ("catching or throwing" -> [(2, "throw")])."""
    out = []
    while at + 2 < len(words) and words[at + 1].lower() in ("or", "and"):
        at += 2
        lemma = _gerund_lemma(words[at], wordnet) or _compound_ing_lemma(words[at], wordnet)
        if not lemma:
            break
        out.append((at, lemma))
    return out


def _analyse(words: list[str], wordnet: Any) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(phrase, verbs, nouns) of split ``words`` by the rules in the module docstring."""
    at, found, gerund = _find_verb(words, wordnet)
    if at is None:
        return " ".join(words), (), tuple(w for w in words if _noun_word(w, wordnet))
    verb = found
    positions, verb = _whole_verb(words, at, verb, gerund, wordnet)
    others = _coordinated_verbs(words, at, wordnet) if gerund else []
    verbs = tuple(dict.fromkeys([verb] + [lemma for _, lemma in others]))
    phrase_words = list(words)
    for i, lemma in [(at, found)] + others:
        plain = _gerund_lemma(words[i], wordnet)
        if plain:
            phrase_words[i] = plain
        elif gerund and (i != at or _is_verb_lemma(lemma, wordnet)):
            # an -ing form WordNet lacks reads as its lemma's words when WordNet has the verb ("blowdrying" ->
            # "blow dry") and in "A or B" ("breadcrumbing" -> "breadcrumb"); else it keeps its spelling
            phrase_words[i] = re.sub(r"[-_]", " ", lemma)
    skip = set(positions) | {i for i, _ in others}
    nouns = tuple(w for i, w in enumerate(words) if i not in skip and _noun_word(w, wordnet))
    return " ".join(phrase_words), verbs, nouns


def _noun_word(word: str, wordnet: Any) -> bool:
    """A word that can be a label's noun: not a function word, and a noun in WordNet when WordNet knows it at
    all (an adjective or adverb alone, "indoor", is no object; a word WordNet lacks, "zumba", stays)."""
    w = word.lower()
    if w in NOT_NOUNS:
        return False
    if w.endswith(("ing", "ed")):  # participles name things ("a piercing", "punching bag")
        return True
    return bool(wordnet.synsets(w, "n")) or not wordnet.synsets(w)


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
        return _from_override(name, entry, wordnet)
    qualifiers = [q for q in re.findall(r"\(([^)]*)\)", name) if not re.match(r"\s*not\b", q, re.IGNORECASE)]
    words = split_words(re.sub(r"\([^)]*\)", " ", name))
    if not words:
        raise DataError(f"class name {name!r} has no words")
    phrase, verbs, nouns = _analyse(words, wordnet)
    extra = [w for q in qualifiers for w in split_words(q)]
    if extra:
        phrase = " ".join([phrase, *extra])
        nouns = nouns + tuple(w for w in extra if w.lower() not in NOT_NOUNS)
    return NormalizedLabel(name, phrase, verbs[0] if verbs else "", nouns, verbs=verbs)


def _from_override(name: str, entry: Override, wordnet: Any) -> NormalizedLabel:
    """The label an override makes: what it leaves out is what the rules make of its phrase."""
    _, verbs, nouns = _analyse(split_words(entry.phrase), wordnet)
    if entry.verbs is not None:
        verbs = entry.verbs
    elif entry.verb is not None:
        verbs = (entry.verb,) if entry.verb else ()
    return NormalizedLabel(
        name,
        entry.phrase,
        verbs[0] if verbs else "",
        entry.nouns if entry.nouns is not None else nouns,
        entry.source or "overrides",
        verbs,
    )


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

    A label belongs to the group of every verb in its ``verbs`` ("catching or throwing baseball" is in
    "catch" and in "throw"). With ``require_nouns`` (the analogy test needs a noun to subtract) labels
    without nouns are left out, and so are repeated noun sets within a verb (the first label keeps its
    place). Verbs are sorted; labels keep their input order.
    """
    groups: dict[str, list[NormalizedLabel]] = {}
    for label in labels:
        if require_nouns and not label.nouns:
            continue
        for verb in label_verbs(label):
            group = groups.setdefault(verb, [])
            if require_nouns and any(g.nouns == label.nouns for g in group):
                continue
            group.append(label)
    return {verb: group for verb, group in sorted(groups.items()) if len(group) >= min_size}
