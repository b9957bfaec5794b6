"""``cloudwindow trust init | seal | import-p12 | show`` — the platform CA and the
departments' seal certificates (docs/trust.md §Keys). Keys are never printed."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from cloudwindow.config import Settings
from cloudwindow.errors import CloudWindowError

if TYPE_CHECKING:
    from cloudwindow.services import Services

T = TypeVar("T")

app = typer.Typer(
    help="Electronic seals (电子印章): platform CA, seal certificates.", no_args_is_help=True
)


def _describe(settings: Settings) -> dict[str, object]:
    from cloudwindow.trust.ca import ensure_ca, fingerprint, trust_dir

    ca, _ = ensure_ca(settings)
    seals = []
    folder = trust_dir(settings) / "seals"
    from cryptography import x509

    for path in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        if path.stem.endswith(("-key", "-chain")):
            continue
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        seals.append(
            {
                "department_code": path.stem,
                "subject": cert.subject.rfc4514_string(),
                "issuer": cert.issuer.rfc4514_string(),
                "not_after": cert.not_valid_after_utc.isoformat(),
                "sha256": fingerprint(cert),
            }
        )
    return {
        "ca": {
            "subject": ca.subject.rfc4514_string(),
            "not_after": ca.not_valid_after_utc.isoformat(),
            "sha256": fingerprint(ca),
            "folder": str(trust_dir(settings)),
        },
        "seals": seals,
    }


def _fail(exc: CloudWindowError) -> typer.Exit:
    body = exc.body()
    typer.echo(f"错误：{body['message']['zh-CN']}\nError: {body['message']['en']}", err=True)
    return typer.Exit(1)


@app.command()
def init() -> None:
    """Create the platform CA under <data_dir>/trust (nothing happens if it exists)."""
    typer.echo(json.dumps(_describe(Settings()), ensure_ascii=False, indent=2))


@app.command()
def show() -> None:
    """The CA and every department's seal certificate (subjects, expiry, fingerprints)."""
    typer.echo(json.dumps(_describe(Settings()), ensure_ascii=False, indent=2))


@app.command()
def seal(
    department_code: Annotated[str, typer.Argument(help="Department code, e.g. ZC-SBJ")],
    name: Annotated[str, typer.Option(help="Department name on the certificate")],
) -> None:
    """Issue (if missing) the department's seal certificate from the platform CA."""
    from cloudwindow.trust.ca import fingerprint, seal_for

    identity = seal_for(Settings(), department_code, name)
    typer.echo(f"{identity.signer_name} {fingerprint(identity.cert)}")


@app.command("import-p12")
def import_p12(
    department_code: Annotated[str, typer.Argument(help="Department code, e.g. ZC-SBJ")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="PKCS#12 file")],
    password_env: Annotated[
        str, typer.Option(help="Environment variable holding the PKCS#12 password")
    ] = "CLOUDWINDOW_P12_PASSWORD",  # noqa: S107 (the name of a variable, not a secret)
) -> None:
    """Use a real seal certificate (from a licensed CA) for a department instead of the
    platform's own; its root becomes trusted for verification."""
    from cloudwindow.trust.ca import fingerprint, import_pkcs12

    password = os.environ.get(password_env)
    try:
        identity = import_pkcs12(
            Settings(), department_code, file.read_bytes(), password.encode() if password else None
        )
    except CloudWindowError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{identity.signer_name} {fingerprint(identity.cert)}")


def _with_services(fn: Callable[[Services], Awaitable[T]]) -> T:
    # The main CLI's helper (imported here: cloudwindow.cli imports this module).
    from cloudwindow.cli import _run
    from cloudwindow.cli import _with_services as with_services

    result: T = _run(with_services(fn))
    return result


@app.command()
def backfill() -> None:
    """Seal every document a case lacks: a receipt for each accepted case, a decision
    for each concluded or rejected one."""
    from cloudwindow.trust.documents import do_backfill

    typer.echo(f"已签发 {_with_services(do_backfill)} 份文书 / documents issued")


@app.command()
def revoke(
    document_id: Annotated[str, typer.Argument(help="Document id (from its QR code)")],
    reason: Annotated[str, typer.Option(help="Why (audited)")],
) -> None:
    """Revoke a sealed document: verification answers 'revoked' from then on."""
    from cloudwindow.trust.documents import do_revoke

    try:
        doc = _with_services(lambda s: do_revoke(s, document_id, reason))
    except CloudWindowError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{doc.id} {doc.title} revoked_at={doc.revoked_at}")
