"""The pure rules of remote assistance (cases/assist.py): revisions, conflicts, the
citizen's confirmation, who may act, which values a field takes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudwindow.cases.assist import (
    Applied,
    BadFieldValue,
    Conflict,
    NotInSession,
    ReadOnlyField,
    SharedForm,
    Side,
    StaleConfirmation,
    Unchanged,
    UnknownField,
    apply_edit,
    check_edit,
    decide_confirm,
    decide_edit,
    same_value,
    side_of,
)
from cloudwindow.cases.errors import CaseNotFound

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "x-pii": "name"},
        "id_number": {"type": "string", "x-pii": "id_number", "pattern": "^[0-9]{17}[0-9X]$"},
        "age": {"type": "integer"},
        "income": {"type": "number"},
        "agree": {"type": "boolean"},
        "children": {"type": "array"},
        "note": {"type": ["string", "null"]},
        "issued_by": {"type": "string", "readOnly": True},
        "anything": {},
    },
}


def test_first_edit_of_a_field_is_based_on_rev_zero() -> None:
    form = SharedForm()
    outcome = decide_edit(form, "name", "张三", 0)
    assert outcome == Applied("name", "张三", 1, cleared_confirmation=False)
    after = apply_edit(form, outcome)
    assert after.values == {"name": "张三"} and after.field_revs == {"name": 1} and after.rev == 1


def test_an_edit_on_a_stale_revision_of_the_same_field_loses_and_learns_the_winner() -> None:
    form = apply_edit(SharedForm(), decide_edit(SharedForm(), "name", "张三", 0))
    # The kiosk also typed into "name" while the agent's edit travelled: based on rev 0.
    outcome = decide_edit(form, "name", "李四", 0)
    assert outcome == Conflict("name", "张三", 1, base_rev=0, attempted="李四")
    assert apply_edit(form, outcome) is form  # nothing written


def test_edits_of_different_fields_never_conflict() -> None:
    form = SharedForm()
    a = decide_edit(form, "name", "张三", 0)
    form = apply_edit(form, a)
    b = decide_edit(form, "age", 70, 0)  # based on the age field's own rev (0)
    assert isinstance(b, Applied) and b.rev == 2
    form = apply_edit(form, b)
    assert form.values == {"name": "张三", "age": 70}
    assert form.field_revs == {"name": 1, "age": 2}


def test_setting_the_value_a_field_already_holds_is_no_change_and_no_conflict() -> None:
    form = apply_edit(SharedForm(), decide_edit(SharedForm(), "name", "张三", 0))
    assert decide_edit(form, "name", "张三", 0) == Unchanged("name", "张三", 1)
    assert isinstance(decide_edit(form, "age", None, 0), Unchanged)  # clearing an empty field


def test_a_revision_from_the_future_is_a_conflict() -> None:
    form = apply_edit(SharedForm(), decide_edit(SharedForm(), "name", "张三", 0))
    outcome = decide_edit(form, "name", "王五", 7)
    assert isinstance(outcome, Conflict) and outcome.rev == 1


def test_confirmation_is_of_the_current_revision_and_any_later_edit_clears_it() -> None:
    form = apply_edit(SharedForm(), decide_edit(SharedForm(), "name", "张三", 0))
    with pytest.raises(StaleConfirmation) as err:
        decide_confirm(form, 0)
    assert err.value.details == {"rev": 0, "current_rev": 1}
    confirmed = decide_confirm(form, 1)
    assert confirmed.confirmed and confirmed.confirmed_rev == 1
    assert decide_confirm(confirmed, 1) == confirmed  # again: harmless
    # An unchanged edit keeps it; a real one clears it (and says so).
    assert isinstance(decide_edit(confirmed, "name", "张三", 1), Unchanged)
    edit = decide_edit(confirmed, "age", 71, 0)
    assert isinstance(edit, Applied) and edit.cleared_confirmation
    after = apply_edit(confirmed, edit)
    assert after.confirmed_rev is None and not after.confirmed


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (False, 0, False),
        (None, "", False),
        ("1", 1, False),
        ([1, "a"], [1, "a"], True),
        ([1], [True], False),
        ({"x": 1}, {"x": 1.0}, True),
        ({"x": 1}, {"y": 1}, False),
    ],
)
def test_same_value_keeps_json_types_apart(a: Any, b: Any, same: bool) -> None:
    assert same_value(a, b) is same


NOT_FOUND, OVER = "case-not-found", "case-not-in-session"


@pytest.mark.parametrize(
    ("kind", "ident_id", "state", "agent", "owner", "outcome"),
    [
        ("user", 5, "in_session", 5, "device:3", Side.AGENT),
        ("device", 3, "in_session", 5, "device:3", Side.KIOSK),
        ("user", 6, "in_session", 5, "device:3", NOT_FOUND),  # another agent
        ("device", 4, "in_session", 5, "device:3", NOT_FOUND),  # another kiosk
        ("device", 5, "in_session", 5, "device:3", NOT_FOUND),  # a kiosk with the agent's id
        ("user", 3, "in_session", 5, "device:3", NOT_FOUND),  # a user with the kiosk's id
        ("user", 5, "completed", 5, "device:3", OVER),  # session over: they know the case
        ("device", 3, "completed", 5, "device:3", OVER),
        ("user", 9, "in_session", 5, "device:3", OVER),  # opened it; a colleague serves now
        ("device", 3, "queued", None, "device:3", OVER),
        ("user", 6, "completed", 5, "device:3", NOT_FOUND),
        ("user", 5, None, None, None, NOT_FOUND),  # no ticket, not the case's agent
        ("user", 9, None, None, None, OVER),  # no ticket, the case's agent
    ],
)
def test_only_the_serving_agent_and_the_tickets_kiosk_take_part(
    kind: str,
    ident_id: int,
    state: str | None,
    agent: int | None,
    owner: str | None,
    outcome: Side | str,
) -> None:
    def call() -> Side:
        return side_of(
            kind,
            ident_id,
            f"{kind}:{ident_id}",
            case_agent_id=9,
            ticket_state=state,
            ticket_agent_id=agent,
            ticket_owner=owner,
        )

    if isinstance(outcome, Side):
        assert call() == outcome
    else:
        with pytest.raises((NotInSession, CaseNotFound)) as err:
            call()
        assert err.value.error_id == outcome


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("name", "张"),
        ("name", ""),
        ("id_number", "44011"),  # half-typed: no pattern check while typing
        ("age", 70),
        ("age", 70.0),  # a whole float is an integer in JSON
        ("income", 3.5),
        ("income", 3),
        ("agree", True),
        ("children", ["小明"]),
        ("note", None),
        ("note", "备注"),
        ("age", None),  # null clears any field
        ("anything", {"a": [1, 2]}),  # no type declared
    ],
)
def test_values_a_field_takes(name: str, value: Any) -> None:
    check_edit(SCHEMA, name, value)


@pytest.mark.parametrize(
    ("name", "value", "error_id"),
    [
        ("nope", "x", "case-unknown-field"),
        ("issued_by", "x", "case-field-read-only"),
        ("age", "70", "case-field-value-invalid"),
        ("age", 70.5, "case-field-value-invalid"),
        ("age", True, "case-field-value-invalid"),  # a boolean is no integer
        ("agree", 1, "case-field-value-invalid"),
        ("name", ["张三"], "case-field-value-invalid"),
        ("name", "a\x00b", "case-field-value-invalid"),
        ("name", "长" * 2000, "case-field-value-invalid"),  # 6,000 bytes
        ("income", float("nan"), "case-field-value-invalid"),
        ("income", float("inf"), "case-field-value-invalid"),
    ],
)
def test_values_a_field_refuses(name: str, value: Any, error_id: str) -> None:
    with pytest.raises((UnknownField, ReadOnlyField, BadFieldValue)) as err:
        check_edit(SCHEMA, name, value)
    assert err.value.error_id == error_id
    assert err.value.details["field"] == name


def test_a_schema_without_properties_has_no_fields() -> None:
    with pytest.raises(UnknownField):
        check_edit({"type": "object"}, "name", "x")


# Properties: two clients racing over a few fields ----------------------------------------
FIELDS = ["a", "b", "c"]
edits = st.lists(
    st.tuples(
        st.sampled_from([Side.AGENT, Side.KIOSK]),
        st.sampled_from(FIELDS),
        st.one_of(st.none(), st.text(max_size=3), st.integers(-3, 3)),
        st.booleans(),  # whether this client saw the other's edits first (synced)
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(edits)
def test_racing_clients_never_lose_an_accepted_edit(
    script: list[tuple[Side, str, Any, bool]],
) -> None:
    """Each client edits from its own (possibly stale) view. Whatever the interleaving:
    the server's revision grows by one per applied edit; every field holds the value of
    its last applied edit; a refused edit always names the value and revision the field
    really holds; a client that refreshes after a conflict then wins."""
    form = SharedForm()
    views: dict[Side, dict[str, int]] = {Side.AGENT: {}, Side.KIOSK: {}}
    last_applied: dict[str, Any] = {}
    applied = 0
    for side, name, value, synced in script:
        if synced:
            views[side] = dict(form.field_revs)
        outcome = decide_edit(form, name, value, views[side].get(name, 0))
        if isinstance(outcome, Conflict):
            assert same_value(outcome.value, form.values.get(name))
            assert outcome.rev == form.field_revs.get(name, 0) != outcome.base_rev
            # The loser takes the current revision and tries again: it wins now.
            views[side][name] = outcome.rev
            outcome = decide_edit(form, name, value, outcome.rev)
            assert not isinstance(outcome, Conflict)
        if isinstance(outcome, Applied):
            applied += 1
            assert outcome.rev == form.rev + 1
            last_applied[name] = value
            views[side][name] = outcome.rev
        else:
            assert isinstance(outcome, Unchanged) and outcome.rev == form.field_revs.get(name, 0)
        form = apply_edit(form, outcome)
    assert form.rev == applied
    for name in FIELDS:
        assert same_value(form.values.get(name), last_applied.get(name))
        assert form.field_revs.get(name, 0) <= form.rev
    assert sorted(r for r in form.field_revs.values()) == sorted(set(form.field_revs.values()))


@settings(max_examples=200, deadline=None)
@given(edits, st.integers(0, 40))
def test_confirmation_holds_only_while_nothing_changed_since(
    script: list[tuple[Side, str, Any, bool]], confirm_at: int
) -> None:
    form = SharedForm()
    confirmed_at_rev: int | None = None
    for i, (_, name, value, _) in enumerate(script):
        if i == confirm_at:
            form = decide_confirm(form, form.rev)
            confirmed_at_rev = form.rev
        form = apply_edit(form, decide_edit(form, name, value, form.field_revs.get(name, 0)))
    if confirmed_at_rev is None:
        assert not form.confirmed
    else:
        assert form.confirmed == (form.rev == confirmed_at_rev)
