"""Remote assistance (远程帮办): the pure rules of the shared case form.

The agent's console and the citizen's kiosk edit one form at the same time
(docs/protocol.md §Remote assistance). The rules, with no I/O:

- **Revisions.** A case's data has one revision counter ``rev`` (0 for an empty form).
  Every accepted edit of one field raises it by one, and the field remembers the
  revision it was last changed at (its ``rev``; 0 = never set).
- **Edits** name the field's revision they were based on (``base_rev``). An edit based
  on the field's current revision wins; one based on an older revision of the *same*
  field lost a race and is refused with the current value and revision (the loser is
  told, nothing is merged behind anyone's back). Edits of *different* fields never
  conflict. An edit that sets the value the field already holds changes nothing and is
  no conflict either (both sides agree).
- **Confirmation.** The citizen confirms the whole data revision they reviewed
  (``confirm(rev)``); a confirmation of any other revision is refused as stale. Any
  later accepted edit clears the confirmation, so the agent can only accept a case
  whose final data the citizen saw.
- **Values.** Only top-level properties of the case's form schema can be set; a value
  must have the JSON type the schema names (or be null, to clear). Formats and patterns
  are *not* checked while typing (a half-typed ID number is normal); the form is
  validated as a whole when it is submitted.
- **Who.** Only the agent serving the case's session ticket and that ticket's kiosk
  take part, and only while the ticket is in session.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from cloudwindow.cases import forms
from cloudwindow.cases.errors import CaseNotFound
from cloudwindow.errors import CloudWindowError

# The most one field's value may take, serialised: a form field, not a file.
MAX_VALUE_BYTES = 4096
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


class Side(StrEnum):
    """Who edits: the agent at the console, or the citizen at the kiosk."""

    AGENT = "agent"
    KIOSK = "kiosk"


# Errors ----------------------------------------------------------------------------------
class NotInSession(CloudWindowError):
    """The caller is neither the agent serving the case's ticket nor that ticket's kiosk,
    or the ticket's session is over."""

    error_id = "case-not-in-session"
    status_code = 403
    message_zh = "只有正在办理该办件的坐席和该窗口的柜台可以操作此办件"
    message_en = "Only the agent serving this case's session and its kiosk may act on the case"


class CaseNotEditable(CloudWindowError):
    error_id = "case-not-editable"
    status_code = 409
    message_zh = "办件当前状态（{state}）不允许修改表单"
    message_en = "The case's form cannot be changed in its current state ({state})"

    def __init__(self, state: str) -> None:
        super().__init__({"state": state}, state=state)


class UnknownField(CloudWindowError):
    error_id = "case-unknown-field"
    status_code = 422
    message_zh = "表单中没有字段：{field}"
    message_en = "The form has no field {field}"

    def __init__(self, name: str) -> None:
        super().__init__({"field": name}, field=name)


class ReadOnlyField(CloudWindowError):
    error_id = "case-field-read-only"
    status_code = 422
    message_zh = "字段 {field} 为只读，不能修改"
    message_en = "Field {field} is read-only"

    def __init__(self, name: str) -> None:
        super().__init__({"field": name}, field=name)


class BadFieldValue(CloudWindowError):
    error_id = "case-field-value-invalid"
    status_code = 422
    message_zh = "字段 {field} 的值无效：{why_zh}"
    message_en = "Invalid value for field {field}: {why_en}"

    def __init__(self, name: str, why_zh: str, why_en: str, **details: Any) -> None:
        super().__init__({"field": name, **details}, field=name, why_zh=why_zh, why_en=why_en)


class StaleConfirmation(CloudWindowError):
    """The citizen confirmed a revision that is no longer the current one: the form
    changed after they looked at it. Details carry the current revision."""

    error_id = "case-confirm-stale"
    status_code = 409
    message_zh = "表单在您确认前已被修改，请重新核对后再确认"
    message_en = "The form changed before you confirmed; please review it again"

    def __init__(self, rev: int, current_rev: int) -> None:
        super().__init__({"rev": rev, "current_rev": current_rev})


# State -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldState:
    value: Any = None
    rev: int = 0  # the data revision this field last changed at; 0 = never set


@dataclass(frozen=True)
class SharedForm:
    """What co-editing needs of a case: its values, their revisions, the confirmation."""

    values: Mapping[str, Any] = field(default_factory=dict)
    field_revs: Mapping[str, int] = field(default_factory=dict)
    rev: int = 0
    confirmed_rev: int | None = None

    def field_state(self, name: str) -> FieldState:
        return FieldState(self.values.get(name), self.field_revs.get(name, 0))

    @property
    def confirmed(self) -> bool:
        return self.confirmed_rev is not None and self.confirmed_rev == self.rev


# Outcomes --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Applied:
    """The edit won: the field holds ``value`` at revision ``rev`` (= the new data rev)."""

    field: str
    value: Any
    rev: int
    cleared_confirmation: bool


@dataclass(frozen=True)
class Unchanged:
    """The field already held this value: nothing to write, nobody to tell."""

    field: str
    value: Any
    rev: int


@dataclass(frozen=True)
class Conflict:
    """The edit was based on an old revision of the field: refused. ``value`` and ``rev``
    are what the field holds now; ``attempted`` what the loser tried to set."""

    field: str
    value: Any
    rev: int
    base_rev: int
    attempted: Any


EditOutcome = Applied | Unchanged | Conflict


def same_value(a: Any, b: Any) -> bool:
    """JSON equality that keeps types apart (``True`` is not ``1``, ``1`` is ``1.0``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def decide_edit(form: SharedForm, name: str, value: Any, base_rev: int) -> EditOutcome:
    """The outcome of setting ``name`` to ``value`` based on revision ``base_rev`` of that
    field. (Whether the field and value are allowed at all is ``check_edit``'s job.)"""
    current = form.field_state(name)
    if same_value(current.value, value):
        return Unchanged(name, current.value, current.rev)
    if base_rev != current.rev:
        return Conflict(name, current.value, current.rev, base_rev, value)
    return Applied(name, value, form.rev + 1, cleared_confirmation=form.confirmed_rev is not None)


def apply_edit(form: SharedForm, outcome: EditOutcome) -> SharedForm:
    """The form after an outcome (only ``Applied`` changes anything)."""
    if not isinstance(outcome, Applied):
        return form
    return replace(
        form,
        values={**form.values, outcome.field: outcome.value},
        field_revs={**form.field_revs, outcome.field: outcome.rev},
        rev=outcome.rev,
        confirmed_rev=None,
    )


def decide_confirm(form: SharedForm, rev: int) -> SharedForm:
    """The citizen confirms data revision ``rev``: it must be the current one. Confirming
    again is harmless (the same form comes back)."""
    if rev != form.rev:
        raise StaleConfirmation(rev, form.rev)
    return replace(form, confirmed_rev=rev)


# Who may act -----------------------------------------------------------------------------
def side_of(
    who_kind: str,
    who_id: int,
    who_ident: str,
    *,
    case_agent_id: int | None,
    ticket_state: str | None,
    ticket_agent_id: int | None,
    ticket_owner: str | None,
) -> Side:
    """Which side of the session the caller is: the agent serving the case's ticket (a
    user with that id) or the ticket's own kiosk, while the ticket is in session.

    Anyone else gets ``case-not-found`` (nothing about the case is revealed); the agent
    who opened the case or the kiosk of its ticket, once the session is over, get
    ``case-not-in-session``."""
    is_agent = who_kind == "user" and who_id in (ticket_agent_id, case_agent_id)
    is_kiosk = who_kind == "device" and ticket_owner is not None and who_ident == ticket_owner
    if ticket_state == "in_session":
        if who_kind == "user" and ticket_agent_id is not None and who_id == ticket_agent_id:
            return Side.AGENT
        if is_kiosk:
            return Side.KIOSK
    if is_agent or is_kiosk:
        raise NotInSession()
    raise CaseNotFound()


# Fields and values -----------------------------------------------------------------------
def form_fields(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The editable fields of a form: the top-level properties of its JSON Schema."""
    props = schema.get("properties")
    return props if isinstance(props, Mapping) else {}


def pii_kind(prop: Mapping[str, Any]) -> str | None:
    """``id_number`` / ``phone`` / ``name`` / ``address`` for a personal-data field."""
    return forms.pii_kind(prop)


def _types(prop: Mapping[str, Any]) -> list[str]:
    declared = prop.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def check_edit(schema: Mapping[str, Any], name: str, value: Any) -> Mapping[str, Any]:
    """The property schema of ``name`` if ``value`` may be typed into it; else a typed
    error. Null clears a field. Strings may be incomplete (no pattern or format check)."""
    props = form_fields(schema)
    prop = props.get(name)
    if not isinstance(prop, Mapping):
        raise UnknownField(name)
    if prop.get("readOnly") is True:
        raise ReadOnlyField(name)
    if value is None:
        return prop
    if isinstance(value, float) and not math.isfinite(value):
        raise BadFieldValue(name, "数值须为有限数", "numbers must be finite")
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise BadFieldValue(name, "不是有效的 JSON 值", "not a JSON value") from exc
    if size > MAX_VALUE_BYTES:
        raise BadFieldValue(
            name, "内容过长", "too long", size_bytes=size, limit_bytes=MAX_VALUE_BYTES
        )
    if _has_nul(value):
        raise BadFieldValue(name, "含有非法字符", "contains a NUL character")
    types = _types(prop)
    if types and not any(_is_type(value, t) for t in types):
        raise BadFieldValue(
            name, f"类型应为 {'/'.join(types)}", f"expected {'/'.join(types)}", expected=types
        )
    return prop


def _is_type(value: Any, json_type: str) -> bool:
    if isinstance(value, bool):
        return json_type == "boolean"
    if json_type == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, JSON_TYPES.get(json_type, ()))
