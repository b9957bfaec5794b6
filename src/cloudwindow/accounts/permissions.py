"""The role/permission matrix, in one place (ARCHITECTURE §5, house rule 6).

Every API operation declares exactly one permission (see ``accounts.deps.require``); the
matrix below says which roles hold it. ``tests/integration/test_permissions.py`` walks
every operation in the OpenAPI schema against this matrix.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "administrator"  # 系统管理员
    SUPERVISOR = "supervisor"  # 值班主管
    AGENT = "agent"  # 坐席人员
    APPROVER = "approver"  # 审批人员
    AUDITOR = "auditor"  # 审计人员


class Permission(StrEnum):
    CATALOG_READ = "catalog.read"
    CATALOG_WRITE = "catalog.write"
    FLEET_READ = "fleet.read"
    FLEET_WRITE = "fleet.write"
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"
    AUDIT_READ = "audit.read"
    QUEUE_MONITOR = "queue.monitor"  # live queue and agent boards (值班主管)
    AGENT_DESK = "agent.desk"  # take offers and serve citizens (坐席工作台)
    CALLBACK_WORK = "callback.work"  # the callback list of one's skill groups (回拨)
    MEDIA_CALL = "media.call"  # take part in a video call (signaling; kiosks and agents)
    RECORDING_UPLOAD = "recording.upload"  # record own sessions (坐席录音录像上传)
    RECORDING_READ = "recording.read"  # list recordings, their flags, verify hash chains
    RECORDING_PLAYBACK = "recording.playback"  # play back / download (audited)
    CASE_WORK = "case.work"  # open, fill, submit and accept cases in a session (受理)
    CASE_APPROVE = "case.approve"  # decide approval steps of one's department (云端批)
    CASE_READ = "case.read"  # read cases and their history (supervision, audit)
    FORMS_WRITE = "forms.write"  # edit application forms of service items (表单配置)
    SELF = "self"  # any signed-in user: own profile, logout
    DEVICE = "device"  # a kiosk acting with its device credential


# Permissions held by a kiosk authenticated with its device credential.
DEVICE_PERMISSIONS: frozenset[Permission] = frozenset(
    {Permission.DEVICE, Permission.CATALOG_READ, Permission.MEDIA_CALL}
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(
        {
            Permission.SELF,
            Permission.CATALOG_READ,
            Permission.CATALOG_WRITE,
            Permission.FLEET_READ,
            Permission.FLEET_WRITE,
            Permission.USERS_READ,
            Permission.USERS_WRITE,
            Permission.AUDIT_READ,
            Permission.QUEUE_MONITOR,
            Permission.RECORDING_READ,
            Permission.CASE_READ,
            Permission.FORMS_WRITE,
        }
    ),
    Role.SUPERVISOR: frozenset(
        {
            Permission.SELF,
            Permission.CATALOG_READ,
            Permission.FLEET_READ,
            Permission.USERS_READ,
            Permission.QUEUE_MONITOR,
            Permission.CALLBACK_WORK,
            Permission.RECORDING_READ,
            Permission.RECORDING_PLAYBACK,
            Permission.CASE_READ,
        }
    ),
    Role.AGENT: frozenset(
        {
            Permission.SELF,
            Permission.CATALOG_READ,
            Permission.AGENT_DESK,
            Permission.CALLBACK_WORK,
            Permission.MEDIA_CALL,
            Permission.RECORDING_UPLOAD,
            Permission.CASE_WORK,
        }
    ),
    Role.APPROVER: frozenset(
        {
            Permission.SELF,
            Permission.CATALOG_READ,
            Permission.CASE_APPROVE,
            Permission.RECORDING_PLAYBACK,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            Permission.SELF,
            Permission.CATALOG_READ,
            Permission.FLEET_READ,
            Permission.USERS_READ,
            Permission.AUDIT_READ,
            Permission.RECORDING_READ,
            Permission.RECORDING_PLAYBACK,
            Permission.CASE_READ,
        }
    ),
}


def permissions_for(roles: list[str]) -> frozenset[Permission]:
    """Union of the permissions of the given role names (unknown names grant nothing)."""
    out: set[Permission] = set()
    for name in roles:
        try:
            out |= ROLE_PERMISSIONS[Role(name)]
        except ValueError:
            continue
    return frozenset(out)
