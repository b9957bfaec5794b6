"""The case state machine (a table of allowed and refused moves) and case numbers."""

from __future__ import annotations

import pytest

from cloudwindow.cases.numbers import format_number, normalize_number
from cloudwindow.cases.queries import mask_value
from cloudwindow.cases.states import (
    CASE_EDITABLE,
    CASE_FINAL,
    CASE_MOVES,
    CASE_RUNNING,
    STATE_LABELS,
    CaseState,
    check_case_move,
)
from cloudwindow.queueing.states import IllegalTransition

S = CaseState
ALLOWED = {
    (S.DRAFT, S.ACCEPTED),
    (S.DRAFT, S.WITHDRAWN),
    (S.ACCEPTED, S.UNDER_APPROVAL),
    (S.UNDER_APPROVAL, S.CONCLUDED),
    (S.UNDER_APPROVAL, S.REJECTED),
    (S.UNDER_APPROVAL, S.RETURNED),
    (S.RETURNED, S.RESUBMITTED),
    (S.RETURNED, S.WITHDRAWN),
    (S.RESUBMITTED, S.UNDER_APPROVAL),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_pair_of_states_against_the_table(current: S, target: S) -> None:
    if (current, target) in ALLOWED:
        check_case_move(current.value, target)
    else:
        with pytest.raises(IllegalTransition) as err:
            check_case_move(current.value, target)
        assert err.value.error_id == "case-state-conflict"
        assert err.value.status_code == 409
        assert err.value.details == {"current": current.value, "target": target.value}


def test_final_states_have_no_way_out_and_every_state_is_reachable() -> None:
    assert all(CASE_MOVES[s] == frozenset() for s in CASE_FINAL)
    reached = {S.DRAFT}
    frontier = [S.DRAFT]
    while frontier:
        for nxt in CASE_MOVES[frontier.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(S)
    assert set(STATE_LABELS) == set(S)


def test_editable_and_running_sets() -> None:
    # Data may change only before acceptance and while a correction is asked for.
    assert {S.DRAFT, S.RETURNED} == CASE_EDITABLE
    # The working-day clock runs from acceptance until a final decision.
    assert S.DRAFT not in CASE_RUNNING and not CASE_RUNNING & CASE_FINAL
    assert S.RETURNED in CASE_RUNNING


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("CW20261127-000042", "CW20261127-000042"),
        ("cw20261127000042", "CW20261127-000042"),
        (" cw 20261127 - 000042 ", "CW20261127-000042"),
        ("CW20261127-1234567", "CW20261127-1234567"),
        ("CW2026112-000042", None),
        ("XX20261127-000042", None),
        ("", None),
        ("CW20261127-42", None),
    ],
)
def test_case_numbers_normalise(raw: str, canonical: str | None) -> None:
    assert normalize_number(raw) == canonical


def test_case_numbers_sort_in_filing_order() -> None:
    numbers = [
        format_number(day, seq) for day in ("20261127", "20261128") for seq in (1, 9, 10, 999_999)
    ]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize(
    ("kind", "clear", "masked"),
    [
        ("id_number", "44018319900101123X", "4401**********123X"),
        ("phone", "13812345678", "138****5678"),
        ("name", "张三", "张*"),
        ("name", "欧阳娜娜", "欧***"),
        ("name", "李", "李*"),
        ("address", "广州市增城区荔城街道府佑路98号", "广州市增城区****"),
        ("id_number", "1234", "****"),
    ],
)
def test_personal_data_masks(kind: str, clear: str, masked: str) -> None:
    assert mask_value(kind, clear) == masked
