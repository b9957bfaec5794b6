"""The permission matrix, walked over every API operation in the OpenAPI schema.

For each operation: no credentials → 401; a role without the permission → 403; a role
with it → success (a 2xx, with a request that the table below makes valid). An
operation added without a row here fails the coverage test, so the matrix can't drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from integration.cases_support import (
    Desk,
    decide,
    end_session,
    jpeg,
    new_kiosk,
    pending_step,
    session_ticket,
)
from integration.devices_support import connected_kiosk_in_session, pending_command
from integration.documents_support import sealed_receipt
from integration.identity_support import identity_session
from integration.licences_support import consented_case_id
from integration.recording_support import served_ticket, start, webm
from integration.signature_support import attached_case, signed_case
from integration.wsclient import WsClient

from cloudwindow.accounts.permissions import (
    DEVICE_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
)
from cloudwindow.sample.people import person
from conftest import LiveServer, on_one_backend, unique

# Authorisation is the same code on both databases, and the operations themselves are
# tested on each in their own modules: PostgreSQL (as deployed) where it is configured.
pytestmark = on_one_backend("postgres")

USER_OF_ROLE = {
    Role.ADMINISTRATOR: "admin",
    Role.SUPERVISOR: "supervisor",
    Role.AGENT: "agent01",
    Role.APPROVER: "approver",
    Role.AUDITOR: "auditor",
}

# Fresh village numbers under 荔城街道 for created regions (the sample uses 001–0xx).
_VILLAGE_NUMBERS = iter(range(500, 1000))


def _admin(live: LiveServer) -> httpx.Client:
    return live.as_user("admin")


@pytest.fixture(autouse=True, scope="module")
def _no_holiday_years_left(live: LiveServer) -> Iterator[None]:
    """The holiday-calendar rows below are the shared server's: take them away after."""
    yield
    with _admin(live) as a:
        for year in (2098, 2099):
            assert a.delete(f"/api/holiday-calendars/{year}").status_code in (204, 404)


def _entered_year(live: LiveServer) -> int:
    """A holiday-calendar year that exists (for its DELETE)."""
    with _admin(live) as a:
        r = a.put("/api/holiday-calendars/2098", json={"holidays": ["2098-01-01"]})
        assert r.status_code == 200, r.text
    return 2098


def _new_terminal(live: LiveServer) -> int:
    with _admin(live) as a:
        site = a.get("/api/sites", params={"type": "mall"}).json()["items"][0]["id"]
        r = a.post(
            "/api/terminals",
            json={
                "serial_number": unique("PT-"),
                "name": "权限测试机",
                "model": "basic",
                "site_id": site,
            },
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def _new_user(live: LiveServer) -> int:
    with _admin(live) as a:
        r = a.post(
            "/api/users",
            json={
                "username": unique("perm").lower(),
                "display_name": "权限测试",
                "password": "Perm#12345",
                "roles": ["agent"],
            },
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def _enroll_code(live: LiveServer) -> str:
    with _admin(live) as a:
        tid = _new_terminal(live)
        return str(a.post(f"/api/terminals/{tid}/enrollment-code").json()["code"])


# (method, path template) → builds (path, json body) for a request that should succeed.
Builder = Callable[[LiveServer], tuple[str, Any]]

REQUESTS: dict[tuple[str, str], Builder] = {
    ("post", "/api/auth/logout"): lambda lv: ("/api/auth/logout", None),
    ("get", "/api/auth/me"): lambda lv: ("/api/auth/me", None),
    ("get", "/api/users"): lambda lv: ("/api/users", None),
    ("post", "/api/users"): lambda lv: (
        "/api/users",
        {
            "username": unique("u").lower(),
            "display_name": "新用户",
            "password": "Passw0rd!x",
            "roles": ["auditor"],
        },
    ),
    ("get", "/api/users/{user_id}"): lambda lv: ("/api/users/1", None),
    ("patch", "/api/users/{user_id}"): lambda lv: (
        f"/api/users/{_new_user(lv)}",
        {"display_name": "改名"},
    ),
    ("post", "/api/users/{user_id}/password"): lambda lv: (
        f"/api/users/{_new_user(lv)}/password",
        {"password": "NewPass#2026"},
    ),
    ("post", "/api/users/{user_id}/deactivate"): lambda lv: (
        f"/api/users/{_new_user(lv)}/deactivate",
        None,
    ),
    ("post", "/api/users/{user_id}/activate"): lambda lv: (
        f"/api/users/{_new_user(lv)}/activate",
        None,
    ),
    ("get", "/api/regions"): lambda lv: ("/api/regions", None),
    ("post", "/api/regions"): lambda lv: (
        "/api/regions",
        {
            "code": f"440118001{next(_VILLAGE_NUMBERS)}",
            "name": "测试社区",
            "level": "village",
            "parent_code": "440118001000",
        },
    ),
    ("get", "/api/regions/{code}"): lambda lv: ("/api/regions/440118000000", None),
    ("patch", "/api/regions/{code}"): lambda lv: ("/api/regions/440118000000", {"name": "增城区"}),
    ("post", "/api/regions/{code}/deactivate"): lambda lv: (
        "/api/regions/440118001001/deactivate",
        None,
    ),
    ("post", "/api/regions/{code}/activate"): lambda lv: (
        "/api/regions/440118001001/activate",
        None,
    ),
    ("get", "/api/departments"): lambda lv: ("/api/departments", None),
    ("post", "/api/departments"): lambda lv: (
        "/api/departments",
        {"code": unique("D-"), "name": "测试部门", "region_code": "440118000000"},
    ),
    ("get", "/api/departments/{code}"): lambda lv: ("/api/departments/ZC-SBJ", None),
    ("patch", "/api/departments/{code}"): lambda lv: (
        "/api/departments/ZC-SBJ",
        {"short_name": "区社保局"},
    ),
    ("post", "/api/departments/{code}/deactivate"): lambda lv: (
        "/api/departments/ZC-FG/deactivate",
        None,
    ),
    ("post", "/api/departments/{code}/activate"): lambda lv: (
        "/api/departments/ZC-FG/activate",
        None,
    ),
    ("get", "/api/skill-groups"): lambda lv: ("/api/skill-groups", None),
    ("post", "/api/skill-groups"): lambda lv: (
        "/api/skill-groups",
        {"code": unique("g-").lower(), "name": "测试技能组"},
    ),
    ("get", "/api/skill-groups/{code}"): lambda lv: ("/api/skill-groups/general", None),
    ("patch", "/api/skill-groups/{code}"): lambda lv: (
        "/api/skill-groups/general",
        {"name_en": "General enquiries"},
    ),
    ("post", "/api/skill-groups/{code}/deactivate"): lambda lv: (
        "/api/skill-groups/agriculture/deactivate",
        None,
    ),
    ("post", "/api/skill-groups/{code}/activate"): lambda lv: (
        "/api/skill-groups/agriculture/activate",
        None,
    ),
    ("get", "/api/holiday-calendars"): lambda lv: ("/api/holiday-calendars", None),
    # 2099: a year no running case reaches, so the shared servers' due dates stay put.
    ("put", "/api/holiday-calendars/{year}"): lambda lv: (
        "/api/holiday-calendars/2099",
        {"holidays": ["2099-01-01"]},
    ),
    ("delete", "/api/holiday-calendars/{year}"): lambda lv: (
        f"/api/holiday-calendars/{_entered_year(lv)}",
        None,
    ),
    ("get", "/api/service-items"): lambda lv: ("/api/service-items", None),
    ("post", "/api/service-items"): lambda lv: (
        "/api/service-items",
        {
            "code": unique("T-"),
            "name": "权限测试事项",
            "department_code": "ZC-SBJ",
            "level": "district",
            "type": "public_service",
            "audience": ["individual"],
            "legal_days": 5,
            "promised_days": 1,
            "skill_group_code": "social-security",
        },
    ),
    ("get", "/api/service-items/export"): lambda lv: ("/api/service-items/export", None),
    ("post", "/api/service-items/import"): lambda lv: ("/api/service-items/import", "FILE"),
    ("get", "/api/service-items/{code}"): lambda lv: ("/api/service-items/440118-GG-0001", None),
    ("patch", "/api/service-items/{code}"): lambda lv: (
        "/api/service-items/440118-GG-0001",
        {"category": "社保医保"},
    ),
    ("post", "/api/service-items/{code}/deactivate"): lambda lv: (
        "/api/service-items/440118-GG-0002/deactivate",
        None,
    ),
    ("post", "/api/service-items/{code}/activate"): lambda lv: (
        "/api/service-items/440118-GG-0002/activate",
        None,
    ),
    ("get", "/api/sites"): lambda lv: ("/api/sites", None),
    ("post", "/api/sites"): lambda lv: (
        "/api/sites",
        {
            "code": unique("S-"),
            "name": "测试点位",
            "type": "village",
            "region_code": "440118001001",
            "uplink_kbps": 4000,
            "downlink_kbps": 20000,
        },
    ),
    ("get", "/api/sites/{site_id}"): lambda lv: ("/api/sites/1", None),
    ("patch", "/api/sites/{site_id}"): lambda lv: ("/api/sites/1", {"uplink_kbps": 60000}),
    ("post", "/api/sites/{site_id}/deactivate"): lambda lv: ("/api/sites/3/deactivate", None),
    ("post", "/api/sites/{site_id}/activate"): lambda lv: ("/api/sites/3/activate", None),
    ("get", "/api/terminals"): lambda lv: ("/api/terminals", None),
    ("post", "/api/terminals"): lambda lv: (
        "/api/terminals",
        {
            "serial_number": unique("TT-"),
            "name": "新终端",
            "model": "extended",
            "site_id": 1,
            "peripherals": ["id_card_reader"],
        },
    ),
    ("get", "/api/terminals/{terminal_id}"): lambda lv: ("/api/terminals/1", None),
    ("patch", "/api/terminals/{terminal_id}"): lambda lv: (
        f"/api/terminals/{_new_terminal(lv)}",
        {"status": "maintenance"},
    ),
    ("post", "/api/terminals/{terminal_id}/deactivate"): lambda lv: (
        f"/api/terminals/{_new_terminal(lv)}/deactivate",
        None,
    ),
    ("post", "/api/terminals/{terminal_id}/activate"): lambda lv: (
        f"/api/terminals/{_new_terminal(lv)}/activate",
        None,
    ),
    ("post", "/api/terminals/{terminal_id}/enrollment-code"): lambda lv: (
        f"/api/terminals/{_new_terminal(lv)}/enrollment-code",
        None,
    ),
    ("get", "/api/devices/me"): lambda lv: ("/api/devices/me", None),
    ("get", "/api/seats"): lambda lv: ("/api/seats", None),
    ("post", "/api/seats"): lambda lv: (
        "/api/seats",
        {"code": unique("SEAT-"), "name": "测试坐席", "site_id": _office(lv)},
    ),
    ("get", "/api/seats/{seat_id}"): lambda lv: ("/api/seats/1", None),
    ("patch", "/api/seats/{seat_id}"): lambda lv: ("/api/seats/1", {"equipment": ["pc"]}),
    ("post", "/api/seats/{seat_id}/deactivate"): lambda lv: ("/api/seats/6/deactivate", None),
    ("post", "/api/seats/{seat_id}/activate"): lambda lv: ("/api/seats/6/activate", None),
    ("get", "/api/audit-events"): lambda lv: ("/api/audit-events", None),
    ("get", "/api/queue/overview"): lambda lv: ("/api/queue/overview", None),
    ("get", "/api/media/sessions"): lambda lv: ("/api/media/sessions", None),
    ("get", "/api/media/sessions/{session_id}"): lambda lv: (
        f"/api/media/sessions/{_media_session(lv)}",
        None,
    ),
    ("get", "/api/media/quality/live"): lambda lv: ("/api/media/quality/live", None),
    ("get", "/api/media/quality/history"): lambda lv: ("/api/media/quality/history", None),
    ("get", "/api/queue/metrics"): lambda lv: ("/api/queue/metrics?window=15m", None),
    ("get", "/api/staffing/erlang"): lambda lv: (
        "/api/staffing/erlang?arrivals_per_hour=120&mean_handle_seconds=300",
        None,
    ),
    ("get", "/api/service-categories"): lambda lv: ("/api/service-categories", None),
    ("post", "/api/desk/cases"): lambda lv: ("/api/desk/cases", {"ticket_id": _kiosk_desk(lv)}),
    ("get", "/api/desk/cases"): lambda lv: ("/api/desk/cases", None),
    ("get", "/api/desk/cases/{case_id}"): lambda lv: (f"/api/desk/cases/{_case(lv)}", None),
    ("patch", "/api/desk/cases/{case_id}/data"): lambda lv: (
        f"/api/desk/cases/{_case(lv)}/data",
        {"values": {"remarks": "权限测试"}},
    ),
    ("post", "/api/desk/cases/{case_id}/accept"): lambda lv: (
        f"/api/desk/cases/{_case(lv, 'ready')}/accept",
        None,
    ),
    ("post", "/api/desk/cases/{case_id}/withdraw"): lambda lv: (
        f"/api/desk/cases/{_case(lv)}/withdraw",
        {"reason": "权限测试"},
    ),
    ("post", "/api/desk/cases/{case_id}/resubmit"): lambda lv: (
        f"/api/desk/cases/{_case(lv, 'returned')}/resubmit",
        {"note": "已补正"},
    ),
    ("post", "/api/desk/cases/{case_id}/attach"): lambda lv: _attach(lv),
    ("get", "/api/kiosk/cases"): lambda lv: ("/api/kiosk/cases", None),
    ("get", "/api/approvals"): lambda lv: ("/api/approvals", None),
    ("get", "/api/approvals/{case_id}"): lambda lv: (
        f"/api/approvals/{_case(lv, 'accepted')}",
        None,
    ),
    ("post", "/api/approvals/{case_id}/decision"): lambda lv: _approve(lv),
    # 申请人签名 (cases/signature.py): a draft of agent01 with a signature of its session
    ("post", "/api/desk/cases/{case_id}/signature"): lambda lv: _attach_signature(lv),
    ("get", "/api/desk/tickets/{ticket_id}/cases"): lambda lv: (
        f"/api/desk/tickets/{_kiosk_desk(lv)}/cases",
        None,
    ),
    ("get", "/api/cases/{case_id}/signature"): lambda lv: (
        f"/api/cases/{attached_case(lv)}/signature",
        None,
    ),
    ("get", "/api/cases"): lambda lv: ("/api/cases", None),
    ("get", "/api/cases/metrics"): lambda lv: ("/api/cases/metrics", None),
    ("get", "/api/cases/{case_id}"): lambda lv: (f"/api/cases/{_case(lv)}", None),
    ("get", "/api/service-items/{code}/approval-chain"): lambda lv: (
        "/api/service-items/440118-GG-0002/approval-chain",
        None,
    ),
    ("put", "/api/service-items/{code}/approval-chain"): lambda lv: (
        "/api/service-items/440118-GG-0002/approval-chain",
        {"steps": []},
    ),
    ("get", "/api/callbacks"): lambda lv: ("/api/callbacks", None),
    ("get", "/api/callbacks/{callback_id}"): lambda lv: (f"/api/callbacks/{_callback(lv)}", None),
    ("post", "/api/callbacks/{callback_id}/claim"): lambda lv: (
        f"/api/callbacks/{_callback(lv)}/claim",
        None,
    ),
    ("post", "/api/callbacks/{callback_id}/phone"): lambda lv: (
        f"/api/callbacks/{_callback(lv, claim=True)}/phone",
        None,
    ),
    ("post", "/api/callbacks/{callback_id}/outcome"): lambda lv: (
        f"/api/callbacks/{_callback(lv, claim=True)}/outcome",
        {"outcome": "done"},
    ),
    ("post", "/api/callbacks/{callback_id}/release"): lambda lv: (
        f"/api/callbacks/{_callback(lv, claim=True)}/release",
        None,
    ),
    ("post", "/api/callbacks/{callback_id}/cancel"): lambda lv: (
        f"/api/callbacks/{_callback(lv)}/cancel",
        None,
    ),
    ("get", "/api/appointments"): lambda lv: ("/api/appointments", None),
    ("post", "/api/appointments/{appointment_id}/cancel"): lambda lv: (
        f"/api/appointments/{_appointment(lv)}/cancel",
        None,
    ),
    ("get", "/api/skill-groups/{code}/appointment-policy"): lambda lv: (
        "/api/skill-groups/tax/appointment-policy",
        None,
    ),
    ("put", "/api/skill-groups/{code}/appointment-policy"): lambda lv: (
        "/api/skill-groups/tax/appointment-policy",
        {"slot_minutes": 30, "capacity": 4, "days_ahead": 7},
    ),
    ("post", "/api/recordings"): lambda lv: ("/api/recordings", {"ticket_id": served_ticket(lv)}),
    ("put", "/api/recordings/{recording_id}/chunks/{seq}"): lambda lv: (
        f"/api/recordings/{_recording(lv)}/chunks/0",
        "CHUNK",
    ),
    ("get", "/api/recordings/{recording_id}/upload-status"): lambda lv: (
        f"/api/recordings/{_recording(lv)}/upload-status",
        None,
    ),
    ("post", "/api/recordings/{recording_id}/finish"): lambda lv: (
        f"/api/recordings/{_recording(lv, chunks=1)}/finish",
        {"chunk_count": 1},
    ),
    ("get", "/api/recordings"): lambda lv: ("/api/recordings", None),
    ("get", "/api/recordings/{recording_id}"): lambda lv: (
        f"/api/recordings/{_finished_recording(lv)}",
        None,
    ),
    ("post", "/api/recordings/{recording_id}/verify"): lambda lv: (
        f"/api/recordings/{_finished_recording(lv)}/verify",
        None,
    ),
    ("post", "/api/recordings/{recording_id}/playback"): lambda lv: (
        f"/api/recordings/{_finished_recording(lv)}/playback",
        {"purpose": "play"},
    ),
    ("get", "/api/service-items/{code}/form"): lambda lv: (
        "/api/service-items/440118-GG-0001/form",
        None,
    ),
    ("get", "/api/service-items/{code}/form/default"): lambda lv: (
        "/api/service-items/440118-GG-0001/form/default",
        None,
    ),
    ("get", "/api/service-items/{code}/form/versions"): lambda lv: (
        "/api/service-items/440118-GG-0001/form/versions",
        None,
    ),
    ("get", "/api/service-items/{code}/form/versions/{version}"): lambda lv: (
        f"/api/service-items/440118-GG-0004/form/versions/{_form_version(lv)}",
        None,
    ),
    ("post", "/api/service-items/{code}/form/versions"): lambda lv: (
        "/api/service-items/440118-GG-0004/form/versions",
        {"schema": _default_form(lv)["schema"], "layout": {}, "note": "权限测试"},
    ),
    ("post", "/api/forms/preview"): lambda lv: (
        "/api/forms/preview",
        {"schema": _default_form(lv)["schema"], "data": {"phone": "13800138000"}},
    ),
    # Case materials (cases/materials_api.py)
    ("post", "/api/desk/cases/{case_id}/capture-requests"): lambda lv: (
        f"/api/desk/cases/{_case(lv)}/capture-requests",
        {"material_code": "M02"},
    ),
    ("post", "/api/desk/cases/{case_id}/materials"): lambda lv: (
        f"/api/desk/cases/{_case(lv)}/materials?material_code=M01",
        "JPEG",
    ),
    ("post", "/api/kiosk/cases/{case_id}/materials"): lambda lv: (
        f"/api/kiosk/cases/{_kiosk_case(lv)}/materials?material_code=M02",
        "JPEG",
    ),
    ("post", "/api/desk/cases/{case_id}/materials/{material_id}/decision"): lambda lv: (
        f"/api/desk/cases/{_material(lv)}/decision",
        {"status": "accepted"},
    ),
    ("get", "/api/desk/cases/{case_id}/materials/{material_id}/file"): lambda lv: (
        f"/api/desk/cases/{_material(lv)}/file",
        None,
    ),
    ("get", "/api/approvals/{case_id}/materials/{material_id}/file"): lambda lv: (
        f"/api/approvals/{_material(lv, 'accepted')}/file",
        None,
    ),
    ("get", "/api/cases/{case_id}/materials/{material_id}/file"): lambda lv: (
        f"/api/cases/{_material(lv)}/file",
        None,
    ),
    # Device relay (devices/api.py): agent rows by agent01 serving a connected kiosk;
    # kiosk rows on a pending command of the kiosk of _device_token
    ("post", "/api/desk/devices/commands"): lambda lv: (
        _desk_devices_path(lv, "/api/desk/devices/commands"),
        {"device": "id_reader", "command": "read"},
    ),
    ("get", "/api/desk/devices"): lambda lv: (_desk_devices_path(lv, "/api/desk/devices"), None),
    ("get", "/api/desk/devices/commands/{command_id}"): lambda lv: (
        f"/api/desk/devices/commands/{pending_command(lv, new_kiosk(lv)[1])}",
        None,
    ),
    ("get", "/api/kiosk/devices/commands/{command_id}"): lambda lv: (
        f"/api/kiosk/devices/commands/{_kiosk_command(lv)}",
        None,
    ),
    ("post", "/api/kiosk/devices/commands/{command_id}/result"): lambda lv: (
        f"/api/kiosk/devices/commands/{_kiosk_command(lv)}/result",
        {"ok": False, "error": {"code": "no-card"}},
    ),
    ("get", "/api/kiosk/devices/commands/{command_id}/document"): lambda lv: (
        f"/api/kiosk/devices/commands/{_kiosk_command(lv, 'a4_printer')}/document",
        None,
    ),
    ("get", "/api/kiosk/devices/commands/{command_id}/slip"): lambda lv: (
        f"/api/kiosk/devices/commands/{_kiosk_command(lv, 'receipt_printer')}/slip",
        None,
    ),
    ("post", "/api/kiosk/devices/health"): lambda lv: (
        "/api/kiosk/devices/health",
        {"bridge": {"connected": False}},
    ),
    ("get", "/api/devices/health"): lambda lv: ("/api/devices/health", None),
    # Sealed documents (trust/api.py)
    ("get", "/api/desk/cases/{case_id}/documents"): lambda lv: (
        f"/api/desk/cases/{_case(lv)}/documents",
        None,
    ),
    ("get", "/api/desk/documents/{doc_id}/pdf"): lambda lv: (
        f"/api/desk/documents/{sealed_receipt(lv)}/pdf",
        None,
    ),
    ("get", "/api/approvals/documents/{doc_id}/pdf"): lambda lv: (
        f"/api/approvals/documents/{sealed_receipt(lv)}/pdf",
        None,
    ),
    # Identity verification (identity/api.py): kiosk rows are sent by the kiosk of
    # _device_token, put in a session first; agent rows by agent01 in a fresh session
    ("post", "/api/kiosk/identity/id-card"): lambda lv: (
        _kiosk_in_session(lv, "/api/kiosk/identity/id-card"),
        _CARD,
    ),
    ("get", "/api/kiosk/identity/consent-texts/{purpose}"): lambda lv: (
        "/api/kiosk/identity/consent-texts/face_check",
        None,
    ),
    ("post", "/api/kiosk/identity/consents"): lambda lv: (
        _kiosk_in_session(lv, "/api/kiosk/identity/consents"),
        {"purpose": "face_check", "granted": True},
    ),
    ("post", "/api/kiosk/identity/face-checks"): lambda lv: (
        _kiosk_in_session(lv, "/api/kiosk/identity/face-checks"),
        "JPEG",
    ),
    ("get", "/api/desk/identity"): lambda lv: (_identity_path(lv, "/api/desk/identity"), None),
    ("post", "/api/desk/identity/face-check-requests"): lambda lv: (
        _identity_path(lv, "/api/desk/identity/face-check-requests"),
        None,
    ),
    ("post", "/api/desk/identity/face-checks/{check_id}/override"): lambda lv: (
        f"/api/desk/identity/face-checks/{identity_session(lv, check=True).face_check_id}/override",
        {"reason": "视频核对本人与证件一致"},
    ),
    ("get", "/api/desk/identity/id-card-reads/{read_id}/photo"): lambda lv: (
        f"/api/desk/identity/id-card-reads/{identity_session(lv).id_card_read_id}/photo",
        None,
    ),
    ("get", "/api/desk/identity/face-checks/{check_id}/photo"): lambda lv: (
        f"/api/desk/identity/face-checks/{identity_session(lv, check=True).face_check_id}/photo",
        None,
    ),
    ("post", "/api/desk/identity/fill-case"): lambda lv: (
        "/api/desk/identity/fill-case",
        {"case_id": identity_session(lv, case=True).case_id},
    ),
    # Electronic licences (licences/api.py): a draft case of agent01 in session whose
    # applicant is the sample person chen, the citizen's consent given on the kiosk
    ("post", "/api/desk/cases/{case_id}/licence-consent-requests"): lambda lv: (
        f"/api/desk/cases/{_case(lv)}/licence-consent-requests",
        None,
    ),
    ("get", "/api/desk/cases/{case_id}/licences"): lambda lv: (
        f"/api/desk/cases/{consented_case_id(lv)}/licences",
        None,
    ),
    ("post", "/api/desk/cases/{case_id}/materials/{material_code}/licence"): lambda lv: (
        f"/api/desk/cases/{consented_case_id(lv)}/materials/M02/licence",
        {"licence_id": "sample00chenid_card"},
    ),
    ("get", "/api/licence-types"): lambda lv: ("/api/licence-types", None),
    ("get", "/api/service-items/{code}/licence-product"): lambda lv: (
        "/api/service-items/440118-GG-0002/licence-product",
        None,
    ),
    ("put", "/api/service-items/{code}/licence-product"): lambda lv: (
        "/api/service-items/440118-GG-0002/licence-product",
        {"type_code": None},
    ),
}
PUBLIC = {
    ("post", "/api/auth/login"),
    ("post", "/api/devices/enroll"),
    ("get", "/api/recordings/{recording_id}/media"),  # by a playback grant (<video src>)
    ("post", "/api/case-lookup"),  # 办件查询: number + phone, rate-limited
    ("post", "/api/case-lookup/documents"),  # a case's documents: number + phone, as lookup
    ("get", "/api/public/documents/{doc_id}/pdf"),  # by document id + check code, rate-limited
    ("get", "/api/public/documents/{doc_id}/verify"),  # 扫码验真, rate-limited
    ("post", "/api/public/documents/verify"),  # 上传验真, rate-limited
    ("post", "/api/provincial/licences/search"),  # another platform, by the interface token
    ("post", "/api/provincial/licences/{licence_id}/file"),  # the same
}


def _media_session(live: LiveServer) -> int:
    """A call of a served ticket, written straight to the database (the flow that opens
    calls is tested in test_media_ws.py)."""
    from cloudwindow.media.models import MediaSession
    from cloudwindow.services import Services
    from conftest import run_async

    ticket = served_ticket(live)

    async def go() -> int:
        services = Services.standalone(live.settings)
        try:
            async with services.db.transaction() as session:
                row = MediaSession(
                    ticket_id=ticket, backend="p2p", caller="user:1", callee="device:0"
                )
                session.add(row)
                await session.flush()
                return row.id
        finally:
            await services.db.dispose()

    return run_async(go)


def _office(live: LiveServer) -> int:
    with _admin(live) as a:
        return int(a.get("/api/sites", params={"type": "agent_office"}).json()["items"][0]["id"])


def _kiosk_desk(live: LiveServer) -> int:
    """A ticket of a fresh kiosk in session with agent01."""
    return session_ticket(live, new_kiosk(live)[1])


def _case(live: LiveServer, state: str = "draft") -> int:
    """A case of agent01 in ``state``: draft, ready (can be accepted), accepted (under
    approval) or returned (for correction, ready to resubmit)."""
    desk = Desk(live)
    try:
        if state == "draft":
            return int(desk.open()["id"])
        case = desk.ready()
        if state == "ready":
            return int(case["id"])
        accepted = desk.accept(case["id"]).json()
        if state == "returned":
            with live.as_user("approver") as approver:
                r = decide(
                    approver, case["id"], pending_step(accepted), "return",
                    reason="权限测试", missing=["居民身份证"],
                )  # fmt: skip
                assert r.status_code == 200, r.text
        return int(case["id"])
    finally:
        desk.close()


def _approve(live: LiveServer) -> tuple[str, Any]:
    desk = Desk(live)
    try:
        case = desk.ready()
        accepted = desk.accept(case["id"]).json()
        return (
            f"/api/approvals/{case['id']}/decision",
            {"approval_id": pending_step(accepted), "decision": "approve"},
        )
    finally:
        desk.close()


def _attach(live: LiveServer) -> tuple[str, Any]:
    """A case of agent01 returned for correction after its session ended, and a new
    session of agent01 to continue it in."""
    desk = Desk(live)
    try:
        case = desk.ready()
        accepted = desk.accept(case["id"]).json()
        with live.as_user("approver") as approver:
            r = decide(
                approver, case["id"], pending_step(accepted), "return",
                reason="权限测试", missing=["居民身份证"],
            )  # fmt: skip
            assert r.status_code == 200, r.text
        end_session(live, desk.ticket)
        return f"/api/desk/cases/{case['id']}/attach", {"ticket_id": _kiosk_desk(live)}
    finally:
        desk.close()


def _attach_signature(live: LiveServer) -> tuple[str, Any]:
    case_id, command_id = signed_case(live)
    return f"/api/desk/cases/{case_id}/signature", {"command_id": command_id}


def _callback(live: LiveServer, claim: bool = False) -> int:
    """A fresh callback request (social security: agent01's group), claimed by agent01
    when ``claim`` (so agent01, the claimer, and supervisors may act on it)."""
    kiosk = WsClient(live.url, new_kiosk(live)[0])
    try:
        reply = kiosk.request(
            "callback.request", {"service_item_code": "440118-GG-0002", "phone": "13812345678"}
        )
    finally:
        kiosk.close()
    callback_id = int(reply["data"]["callback"]["id"])
    if claim:
        with live.as_user("agent01") as agent:
            assert agent.post(f"/api/callbacks/{callback_id}/claim").status_code == 200
    return callback_id


def _appointment(live: LiveServer) -> int:
    """A fresh booking in the first free slot of the tax group (capacity raised)."""
    with _admin(live) as a:
        a.put(
            "/api/skill-groups/tax/appointment-policy",
            json={"slot_minutes": 30, "capacity": 500, "days_ahead": 7},
        )
    kiosk = WsClient(live.url, new_kiosk(live)[0])
    try:
        item = "440118-GG-0002"
        with _admin(live) as a:
            items = a.get("/api/service-items", params={"skill_group_code": "tax"}).json()
            item = next(i["code"] for i in items["items"] if i["cloud_enabled"] and i["active"])
        slots = kiosk.request("appointment.slots", {"service_item_code": item})["data"]
        start = slots["days"][0]["slots"][0]["start"]
        phone = f"139{next(_PHONES):08d}"
        reply = kiosk.request(
            "appointment.book", {"service_item_code": item, "slot_start": start, "phone": phone}
        )
        return int(reply["data"]["appointment"]["id"])
    finally:
        kiosk.close()


_PHONES = iter(range(10_000_000))


def _default_form(live: LiveServer) -> dict[str, Any]:
    with _admin(live) as a:
        return dict(a.get("/api/service-items/440118-GG-0004/form/default").json())


def _form_version(live: LiveServer) -> int:
    """A freshly published version of an item's form (its number)."""
    with _admin(live) as a:
        r = a.post(
            "/api/service-items/440118-GG-0004/form/versions",
            json={"schema": _default_form(live)["schema"], "layout": {}},
        )
        assert r.status_code == 201, r.text
        return int(r.json()["form"]["version"])


def _operations(live: LiveServer) -> list[tuple[str, str, str]]:
    with live.client() as c:
        schema = c.get("/openapi.json").json()
    return [
        (m, p, op["x-permission"])
        for p, ops in schema["paths"].items()
        for m, op in ops.items()
        if p.startswith("/api/") and "x-permission" in op
    ]


def _recording(live: LiveServer, chunks: int = 0) -> int:
    """A recording by agent01 of a ticket it serves, with ``chunks`` chunks uploaded."""
    with live.as_user("agent01") as agent:
        rid = int(str(start(agent, served_ticket(live))["id"]))
        for seq in range(chunks):
            r = agent.put(f"/api/recordings/{rid}/chunks/{seq}", content=webm(2.0))
            assert r.status_code == 200, r.text
    return rid


_FINISHED: dict[str, int] = {}


def _finished_recording(live: LiveServer) -> int:
    if live.url not in _FINISHED:
        rid = _recording(live, chunks=1)
        with live.as_user("agent01") as agent:
            r = agent.post(f"/api/recordings/{rid}/finish", json={"chunk_count": 1})
            assert r.status_code == 200, r.text
        _FINISHED[live.url] = rid
    return _FINISHED[live.url]


def _send(client: httpx.Client, method: str, path: str, body: Any) -> httpx.Response:
    if body == "JPEG":
        return client.post(
            path, content=jpeg(), headers={"Content-Type": "application/octet-stream"}
        )
    if body == "CHUNK":
        return client.put(path, content=webm(2.0))
    if body == "FILE":
        return client.post(
            path,
            params={"dry_run": "true"},
            files={"file": ("catalog.csv", _catalog_csv(), "text/csv")},
        )
    return client.request(method.upper(), path, json=body)


_CSV: list[bytes] = []


def _catalog_csv() -> bytes:
    """A valid catalogue file: the sample catalogue exported by the admin."""
    return _CSV[0]


@pytest.fixture(autouse=True)
def _exported_catalog(live: LiveServer) -> None:
    if not _CSV:
        with _admin(live) as a:
            _CSV.append(a.get("/api/service-items/export", params={"format": "csv"}).content)


def _kiosk_case(live: LiveServer) -> int:
    """A draft case in a session of the kiosk last enrolled by ``_device_token`` (the one
    making the request in the kiosk's row of the matrix), served by agent01."""
    key = _LAST_KIOSK.get(live.url) or new_kiosk(live)[1]
    with live.as_user("agent01") as agent:
        r = agent.post("/api/desk/cases", json={"ticket_id": session_ticket(live, key)})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def _material(live: LiveServer, state: str = "draft") -> str:
    """``<case id>/materials/<material id>``: a file of a case of agent01 in ``state``."""
    case_id = _case(live, state)
    with live.as_user("agent01") as agent:
        if state == "draft":
            r = agent.post(
                f"/api/desk/cases/{case_id}/materials",
                params={"material_code": "M01"},
                content=jpeg(),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 201, r.text
            return f"{case_id}/materials/{r.json()['id']}"
        materials = agent.get(f"/api/desk/cases/{case_id}").json()["materials"]
        return f"{case_id}/materials/{materials[0]['id']}"


_LAST_KIOSK: dict[str, str] = {}
_CARD = person("chen").id_card()


def _kiosk_in_session(live: LiveServer, path: str) -> str:
    """``path``, once the kiosk of ``_device_token`` is in a session with agent01."""
    session_ticket(live, _LAST_KIOSK.get(live.url) or new_kiosk(live)[1])
    return path


def _identity_path(live: LiveServer, path: str) -> str:
    """``path``, once agent01 serves a fresh session in which an ID card was read."""
    identity_session(live)
    return path


def _desk_devices_path(live: LiveServer, path: str) -> str:
    """``path``, once agent01 serves a fresh kiosk that is connected."""
    connected_kiosk_in_session(live)
    return path


def _kiosk_command(live: LiveServer, device: str = "id_reader") -> str:
    """A pending command to the kiosk of ``_device_token`` (printers: a sealed receipt)."""
    key = _LAST_KIOSK.get(live.url) or new_kiosk(live)[1]
    params = {"document_id": sealed_receipt(live)} if "printer" in device else {}
    return pending_command(live, key, device, params)


def _device_token(live: LiveServer) -> str:
    token, key = new_kiosk(live)
    _LAST_KIOSK[live.url] = key
    return token


def test_every_operation_is_in_the_matrix_table(live: LiveServer) -> None:
    ops = {(m, p) for m, p, _ in _operations(live)}
    assert ops == set(REQUESTS), f"missing: {ops - set(REQUESTS)}; stale: {set(REQUESTS) - ops}"
    with live.client() as c:
        schema = c.get("/openapi.json").json()
    every = {(m, p) for p, o in schema["paths"].items() for m in o if p.startswith("/api/")}
    assert every - ops == PUBLIC


def test_no_credentials_is_401_everywhere(live: LiveServer) -> None:
    with live.client() as anon:
        for method, path, _ in _operations(live):
            concrete = (
                path.replace("{user_id}", "1")
                .replace("{code}", "X")
                .replace("{site_id}", "1")
                .replace("{terminal_id}", "1")
                .replace("{seat_id}", "1")
                .replace("{callback_id}", "1")
                .replace("{appointment_id}", "1")
            )
            r = anon.request(method.upper(), concrete, json={})
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error_id"] == "not-authenticated"


_REFUSED: dict[tuple[str, str, str], tuple[str, Any]] = {}


def _request(live: LiveServer, method: str, path: str, allowed: bool) -> tuple[str, Any]:
    """The request for an operation: a fresh one (its setup: a session, a kiosk, a case …)
    for a caller holding the permission, whose call changes things. A refused call changes
    nothing, so the request built for the first caller without the permission serves the
    others: the 403 must come all the same."""
    if allowed:
        return REQUESTS[(method, path)](live)
    key = (live.url, method, path)
    if key not in _REFUSED:
        _REFUSED[key] = REQUESTS[(method, path)](live)
    return _REFUSED[key]


@pytest.mark.parametrize("role", list(Role))
def test_roles_get_exactly_their_permissions(live: LiveServer, role: Role) -> None:
    allowed = ROLE_PERMISSIONS[role]
    with live.as_user(USER_OF_ROLE[role]) as client:
        for method, path, perm in _operations(live):
            if (method, path) == ("post", "/api/auth/logout"):
                continue  # would sign the shared token out; covered below
            url, body = _request(live, method, path, Permission(perm) in allowed)
            r = _send(client, method, url, body)
            if Permission(perm) in allowed:
                assert 200 <= r.status_code < 300, (role, method, path, r.status_code, r.text)
            else:
                assert r.status_code == 403, (role, method, path, r.status_code)
                assert r.json()["error_id"] == "permission-denied"


def test_logout_for_every_role(live: LiveServer) -> None:
    for username in USER_OF_ROLE.values():
        token = live.login(username)
        live.tokens.pop(username)
        with live.client(token) as c:
            assert c.post("/api/auth/logout").status_code == 204
            assert c.get("/api/auth/me").status_code == 401


def test_kiosk_device_credential_holds_only_device_permissions(live: LiveServer) -> None:
    token = _device_token(live)
    with live.client(token) as kiosk:
        for method, path, perm in _operations(live):
            url, body = _request(live, method, path, Permission(perm) in DEVICE_PERMISSIONS)
            r = _send(kiosk, method, url, body)
            if Permission(perm) in DEVICE_PERMISSIONS:
                assert 200 <= r.status_code < 300, (method, path, r.status_code, r.text)
            else:
                assert r.status_code == 403, (method, path, r.status_code)
