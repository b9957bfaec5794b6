"""Pure catalogue rules: pinyin search keys and the region hierarchy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudwindow.catalog.rules import (
    pinyin_forms,
    region_code_matches_parent,
    region_parent_problem,
    search_key,
)


@pytest.mark.parametrize(
    ("text", "full", "initials"),
    [
        ("社保卡", "shebaoka", "sbk"),
        ("居民身份证", "juminshenfenzheng", "jmsfz"),
        ("增城区", "zengchengqu", "zcq"),
        ("不动产登记", "budongchandengji", "bdcdj"),
    ],
)
def test_pinyin_forms(text: str, full: str, initials: str) -> None:
    assert pinyin_forms(text) == (full, initials)


def test_search_key_covers_code_name_keywords() -> None:
    key = search_key("440118-GG-0002", "社会保障卡补领", ["社保卡", "补办社保卡"])
    for needle in ("440118-gg-0002", "社会保障卡补领", "shbzkbl", "sbk", "shebaoka", "bbsbk"):
        assert needle in key


@given(st.text(min_size=1, max_size=30))
def test_search_key_contains_the_name_lowercased(name: str) -> None:
    assert name.lower() in search_key("CODE", name)


@pytest.mark.parametrize(
    ("level", "parent_level", "ok"),
    [
        ("city", None, True),
        ("city", "city", False),
        ("district", "city", True),
        ("district", None, False),
        ("town", "district", True),
        ("town", "city", False),
        ("village", "town", True),
        ("village", "district", False),
    ],
)
def test_region_parent_levels(level: str, parent_level: str | None, ok: bool) -> None:
    assert (region_parent_problem(level, parent_level) is None) is ok


@pytest.mark.parametrize(
    ("code", "parent", "level", "ok"),
    [
        ("440118000000", "440100000000", "district", True),
        ("440218000000", "440100000000", "district", False),
        ("440118101000", "440118000000", "town", True),
        ("440119101000", "440118000000", "town", False),
        ("440118101001", "440118101000", "village", True),
        ("440118102001", "440118101000", "village", False),
    ],
)
def test_region_codes_nest(code: str, parent: str, level: str, ok: bool) -> None:
    assert region_code_matches_parent(code, parent, level) is ok
