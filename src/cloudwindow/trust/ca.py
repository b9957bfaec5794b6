"""The platform's own certificate authority and the departments' seal certificates
(电子印章证书) — docs/trust.md §Keys.

Layout under ``<data_dir>/trust/`` (folder 0700, every file 0600):

- ``ca-key.pem`` / ``ca.pem`` — the platform CA (created on first use or by
  ``cloudwindow trust init``);
- ``seals/<department>-key.pem`` / ``<department>.pem`` / ``<department>-chain.pem`` —
  one seal certificate per department, issued by the CA on first use, or imported from
  a real PKCS#12 (``cloudwindow trust import-p12``);
- ``roots/*.pem`` — further trusted roots (the issuers of imported seals).

Private keys are PKCS#8 PEM encrypted with a passphrase derived from the data key
(privacy.py): a copy of the folder alone does not give the keys away. After a data key
rotation the previous keys still open them. Keys never appear in logs or errors.

Files are created with ``O_EXCL`` and written to a temp file first, so two nodes
starting at once agree on one CA (the loser reads the winner's).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloudwindow.config import Settings
from cloudwindow.privacy import keyring_for
from cloudwindow.trust.errors import SealImportFailed

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
CA_NAME = "云窗口政务服务平台电子印章CA"
_DEPT_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_CA_YEARS = 20
_SEAL_YEARS = 5


@dataclass
class SealIdentity:
    """A department's seal: its key, its certificate and the chain up to a root."""

    key: PrivateKey
    cert: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def signer_name(self) -> str:
        cns = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(cns[0].value) if cns else self.cert.subject.rfc4514_string()


def trust_dir(settings: Settings) -> Path:
    return settings.data_dir / "trust"


def _passphrases(settings: Settings) -> list[bytes]:
    ring = keyring_for(settings)
    return [
        hmac.new(key, b"cloudwindow-trust-key", hashlib.sha256).hexdigest().encode()
        for key in [ring.current, *ring.previous]
    ]


def _write_private(path: Path, data: bytes, exclusive: bool) -> bool:
    """Write ``data`` (0600) atomically; with ``exclusive``, only if absent (False if
    someone else was first)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if exclusive:
            try:
                os.link(tmp, path)  # fails if the name exists: the first writer wins
            except FileExistsError:
                return False
            return True
        os.replace(tmp, path)
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _key_pem(settings: Settings, key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(_passphrases(settings)[0]),
    )


def _load_key(settings: Settings, path: Path) -> PrivateKey:
    data = path.read_bytes()
    for passphrase in _passphrases(settings):
        try:
            key = serialization.load_pem_private_key(data, passphrase)
        except ValueError:
            continue
        if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            return key
    raise RuntimeError(f"cannot open {path.name}: not a key of this platform's data key")


def rewrap_keys(settings: Settings, check: bool = False) -> int:
    """Data-key rotation (privacy_rotation.py): every private key under ``trust/`` that
    the current data key's passphrase does not open is written again under it (opened
    with a previous key's). The number of such keys (only counted with ``check``)."""
    folder = trust_dir(settings)
    current = _passphrases(settings)[0]
    count = 0
    for path in sorted(folder.rglob("*-key.pem")) if folder.is_dir() else []:
        try:
            serialization.load_pem_private_key(path.read_bytes(), current)
            continue
        except ValueError:
            pass
        count += 1
        if not check:
            _write_private(path, _key_pem(settings, _load_key(settings, path)), exclusive=False)
    return count


def _certs_pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _load_certs(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes()) if path.exists() else []


def _now() -> datetime:
    return datetime.now(UTC)


def _new_key() -> rsa.RSAPrivateKey:
    # RSA 2048: what every PDF validator (poppler/NSS, Acrobat, pyHanko) accepts.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _issue_ca(settings: Settings) -> None:
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "云窗口政务服务平台"),
            x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = trust_dir(settings)
    # The key first: a CA certificate without its key would be useless.
    if _write_private(folder / "ca-key.pem", _key_pem(settings, key), exclusive=True):
        _write_private(folder / "ca.pem", _certs_pem([cert]), exclusive=False)


def ensure_ca(settings: Settings) -> tuple[x509.Certificate, PrivateKey]:
    """The platform CA, created on first use."""
    folder = trust_dir(settings)
    if not (folder / "ca-key.pem").exists():
        _issue_ca(settings)
    for _ in range(50):  # another process may be between writing the key and the cert
        if (folder / "ca.pem").exists():
            break
        time.sleep(0.05)
    return _load_certs(folder / "ca.pem")[0], _load_key(settings, folder / "ca-key.pem")


def trusted_roots(settings: Settings) -> list[x509.Certificate]:
    """The roots a sealed document may chain to: the platform CA and imported issuers."""
    ca, _ = ensure_ca(settings)
    roots = [ca]
    folder = trust_dir(settings) / "roots"
    if folder.is_dir():
        for path in sorted(folder.glob("*.pem")):
            roots.extend(_load_certs(path))
    return roots


def _seal_paths(settings: Settings, department_code: str) -> tuple[Path, Path, Path]:
    if not _DEPT_CODE.match(department_code):
        raise ValueError(f"bad department code {department_code!r}")
    folder = trust_dir(settings) / "seals"
    return (
        folder / f"{department_code}-key.pem",
        folder / f"{department_code}.pem",
        folder / f"{department_code}-chain.pem",
    )


def _issue_seal(settings: Settings, department_code: str, department_name: str) -> None:
    ca_cert, ca_key = ensure_ca(settings)
    key = _new_key()
    now = _now()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, department_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, department_code),
            x509.NameAttribute(NameOID.COMMON_NAME, department_name),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * _SEAL_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_path, cert_path, chain_path = _seal_paths(settings, department_code)
    if _write_private(key_path, _key_pem(settings, key), exclusive=True):
        _write_private(chain_path, _certs_pem([ca_cert]), exclusive=False)
        _write_private(cert_path, _certs_pem([cert]), exclusive=False)


def seal_for(settings: Settings, department_code: str, department_name: str) -> SealIdentity:
    """The department's seal, issued by the platform CA on first use."""
    key_path, cert_path, chain_path = _seal_paths(settings, department_code)
    if not key_path.exists():
        _issue_seal(settings, department_code, department_name)
    for _ in range(50):
        if cert_path.exists():
            break
        time.sleep(0.05)
    return SealIdentity(
        key=_load_key(settings, key_path),
        cert=_load_certs(cert_path)[0],
        chain=_load_certs(chain_path),
    )


def import_pkcs12(
    settings: Settings, department_code: str, data: bytes, password: bytes | None
) -> SealIdentity:
    """Replace the department's seal by a real one (a PKCS#12 from a licensed CA). The
    chain's self-signed certificates become trusted roots for verification."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    except (ValueError, TypeError) as exc:
        raise SealImportFailed({"reason": "unreadable or wrong password"}) from exc
    if cert is None or not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SealImportFailed({"reason": "no RSA/EC key with a certificate"})
    if cert.not_valid_after_utc < _now():
        raise SealImportFailed({"reason": "certificate expired"})
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        seal_usage = usage.content_commitment
    except x509.ExtensionNotFound:
        seal_usage = False
    if not seal_usage:
        # PAdES validators (pyHanko's default policy) require non-repudiation on a seal.
        raise SealImportFailed({"reason": "certificate lacks the non-repudiation key usage"})
    chain = list(extra or [])
    key_path, cert_path, chain_path = _seal_paths(settings, department_code)
    _write_private(key_path, _key_pem(settings, key), exclusive=False)
    _write_private(chain_path, _certs_pem(chain), exclusive=False)
    _write_private(cert_path, _certs_pem([cert]), exclusive=False)
    roots = [c for c in chain if c.subject == c.issuer] or ([cert] if not chain else [])
    if roots:
        _write_private(
            trust_dir(settings) / "roots" / f"{department_code}.pem",
            _certs_pem(roots),
            exclusive=False,
        )
    return SealIdentity(key=key, cert=cert, chain=chain)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()
