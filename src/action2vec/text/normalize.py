"""Class names → English phrase, verb lemma and nouns (stub, filled in next commit)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NormalizedLabel:
    """A class name as text: ``phrase`` is what gets embedded; ``verb`` its lemma ("" when none)."""

    name: str
    phrase: str
    verb: str
    nouns: tuple[str, ...] = field(default_factory=tuple)


def normalize_label(name: str, overrides=None) -> NormalizedLabel:
    raise NotImplementedError


def group_by_verb(labels: list[NormalizedLabel]) -> dict[str, list[NormalizedLabel]]:
    """Labels sharing a verb, for verbs with at least two labels of different nouns."""
    groups: dict[str, list[NormalizedLabel]] = {}
    for label in labels:
        if label.verb:
            groups.setdefault(label.verb, []).append(label)
    return {verb: group for verb, group in sorted(groups.items()) if len({g.nouns for g in group}) >= 2}
