"""Sanity of the role/permission matrix and password/token helpers."""

from __future__ import annotations

from cloudwindow.accounts.permissions import (
    DEVICE_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    permissions_for,
)
from cloudwindow.accounts.security import (
    hash_password,
    new_enrollment_code,
    token_hash,
    verify_password,
)


def test_only_administrators_write() -> None:
    writes = {Permission.CATALOG_WRITE, Permission.FLEET_WRITE, Permission.USERS_WRITE}
    for role, perms in ROLE_PERMISSIONS.items():
        assert bool(perms & writes) is (role == Role.ADMINISTRATOR), role


def test_every_role_is_in_the_matrix_and_devices_cannot_read_people() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert Permission.USERS_READ not in DEVICE_PERMISSIONS
    assert Permission.AUDIT_READ not in DEVICE_PERMISSIONS


def test_permissions_for_unions_roles_and_ignores_unknown() -> None:
    perms = permissions_for(["agent", "auditor", "emperor"])
    assert Permission.AUDIT_READ in perms and Permission.CATALOG_READ in perms
    assert Permission.CATALOG_WRITE not in perms
    assert permissions_for([]) == frozenset()


def test_password_hashing() -> None:
    h = hash_password("Correct#Horse1")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "Correct#Horse1")
    assert not verify_password(h, "correct#horse1")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


def test_enrollment_codes_are_typable() -> None:
    codes = {new_enrollment_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 9 and code[4] == "-"
        assert not set(code) & set("01OI")
    assert len(token_hash("x")) == 64
