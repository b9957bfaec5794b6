"""Pure decisions of the catalogue: search keys with pinyin, region hierarchy rules."""

from __future__ import annotations

from collections.abc import Iterable

from pypinyin import Style, lazy_pinyin

from cloudwindow.catalog.enums import PARENT_LEVEL


def pinyin_forms(text: str) -> tuple[str, str]:
    """(full pinyin, pinyin initials) of ``text``; non-Chinese characters pass through.

    >>> pinyin_forms("社保卡")
    ('shebaoka', 'sbk')
    """
    syllables = lazy_pinyin(text, style=Style.NORMAL, errors="default")
    full = "".join(syllables).lower()
    initials = "".join(s[0] for s in syllables if s).lower()
    return full, initials


def search_key(code: str, name: str, keywords: Iterable[str] = ()) -> str:
    """The lower-case haystack a catalogue search matches with one LIKE.

    Parts are separated by ``|`` so a query never matches across two parts.
    """
    parts = [code.lower(), name.lower()]
    for text in [name, *keywords]:
        full, initials = pinyin_forms(text)
        parts.extend([text.lower(), full, initials])
    return "|".join(dict.fromkeys(p for p in parts if p))


def region_parent_problem(level: str, parent_level: str | None) -> str | None:
    """Why a region of ``level`` may not sit under a parent of ``parent_level``, or None."""
    expected = PARENT_LEVEL[level]
    if expected is None:
        return None if parent_level is None else "a city has no parent region"
    if parent_level is None:
        return f"a {level} needs a parent of level {expected}"
    if parent_level != expected:
        return f"a {level} must sit under a {expected}, not a {parent_level}"
    return None


def region_code_matches_parent(code: str, parent_code: str, level: str) -> bool:
    """Statistical division codes nest: a town 440118003000 starts with its district 440118."""
    prefix = {"district": 4, "town": 6, "village": 9}.get(level, 0)
    return code[:prefix] == parent_code[:prefix]
