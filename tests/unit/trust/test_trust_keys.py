"""The platform CA and seal certificates on disk: created once, private (0600),
encrypted with the data key, still readable after a key rotation; PKCS#12 import; a PDF
sealed with either kind validates against the trusted roots and fails when changed."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from cloudwindow.config import Settings
from cloudwindow.trust import ca
from cloudwindow.trust.errors import SealImportFailed
from cloudwindow.trust.render import DocumentContent, render_document
from cloudwindow.trust.sign import check_pdf, seal_pdf


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def settings(tmp: Path, key: str, previous: list[str] | None = None) -> Settings:
    return Settings(data_dir=tmp, data_key=key, data_keys_previous=previous or [])


def test_ca_created_once_private_and_encrypted(tmp_path: Path) -> None:
    s = settings(tmp_path, _key())
    cert, _ = ca.ensure_ca(s)
    again, _ = ca.ensure_ca(s)
    assert again.fingerprint(hashes.SHA256()) == cert.fingerprint(hashes.SHA256())
    folder = ca.trust_dir(s)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.rglob("*.pem"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    pem = (folder / "ca-key.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    with pytest.raises(TypeError):  # needs the passphrase derived from the data key
        serialization.load_pem_private_key(pem, None)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_keys_still_open_after_a_data_key_rotation(tmp_path: Path) -> None:
    old = _key()
    first = ca.seal_for(settings(tmp_path, old), "ZC-SBJ", "广州市增城区社会保险基金管理局")
    rotated = settings(tmp_path, _key(), [old])
    again = ca.seal_for(rotated, "ZC-SBJ", "广州市增城区社会保险基金管理局")
    assert again.cert == first.cert
    assert again.key.private_numbers() == first.key.private_numbers()  # type: ignore[union-attr]
    with pytest.raises(RuntimeError):  # a stranger's key opens nothing
        ca.seal_for(settings(tmp_path, _key()), "ZC-SBJ", "x")


def test_seal_certificate_is_issued_by_the_platform_ca(tmp_path: Path) -> None:
    s = settings(tmp_path, _key())
    seal = ca.seal_for(s, "ZC-MZ", "广州市增城区民政局")
    root, _ = ca.ensure_ca(s)
    assert seal.signer_name == "广州市增城区民政局"
    assert seal.cert.issuer == root.subject and seal.chain == [root]
    public = root.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(seal.cert.signature, seal.cert.tbs_certificate_bytes, padding.PKCS1v15(),
                  hashes.SHA256())  # fmt: skip
    with pytest.raises(ValueError):
        ca.seal_for(s, "../escape", "x")


def _content() -> DocumentContent:
    return DocumentContent(
        title="受理回执", doc_number="测〔2026〕1号", addressee="张*：", paragraphs=["测试正文。"],
        rows=[("办件编号", "CW20261127-000001")], department_name="外部CA测试局",
        issued_on=date(2026, 11, 27), verify_url="http://127.0.0.1/verify/x?c=A",
        document_id="x", check_code="A",
    )  # fmt: skip


def _external_p12(password: bytes, seal_usage: bool = True) -> bytes:
    """A seal from another CA (EC keys), as a licensed CA would hand it out."""
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "某省电子认证服务CA")])
    root = (
        x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
        .public_key(root_key.public_key()).serial_number(1)
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "外部CA测试局")]))
        .issuer_name(root_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(  # a seal certificate: signatures, non-repudiation
            digital_signature=True, content_commitment=seal_usage, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(root_key, hashes.SHA256())
    )  # fmt: skip
    return pkcs12.serialize_key_and_certificates(
        b"seal", key, cert, [root], serialization.BestAvailableEncryption(password)
    )


def test_imported_pkcs12_seals_and_its_root_is_trusted(tmp_path: Path) -> None:
    s = settings(tmp_path, _key())
    with pytest.raises(SealImportFailed):
        ca.import_pkcs12(s, "ZC-WB", _external_p12(b"right"), b"wrong")
    with pytest.raises(SealImportFailed) as refused:  # not a seal: no non-repudiation
        ca.import_pkcs12(s, "ZC-WB", _external_p12(b"right", seal_usage=False), b"right")
    assert "non-repudiation" in refused.value.details["reason"]
    seal = ca.import_pkcs12(s, "ZC-WB", _external_p12(b"right"), b"right")
    assert ca.seal_for(s, "ZC-WB", "ignored").cert == seal.cert  # the imported one is used
    pdf = asyncio.run(seal_pdf(render_document(_content()), seal, "测试", "增城"))
    check = asyncio.run(check_pdf(pdf, ca.trusted_roots(s)))
    assert check.genuine and check.signer == "外部CA测试局", check
    # Against the platform CA alone (another installation), the seal is not trusted.
    other = settings(tmp_path / "other", _key())
    assert not asyncio.run(check_pdf(pdf, ca.trusted_roots(other))).trusted


def test_appending_after_signing_is_not_genuine(tmp_path: Path) -> None:
    s = settings(tmp_path, _key())
    seal = ca.seal_for(s, "ZC-SBJ", "外部CA测试局")
    pdf = asyncio.run(seal_pdf(render_document(_content()), seal, "测试", "增城"))
    roots = ca.trusted_roots(s)
    assert asyncio.run(check_pdf(pdf, roots)).genuine
    # An incremental update after the seal (a classic way to change a signed PDF).
    appended = pdf + b"\n1 0 obj\n<< >>\nendobj\n"
    assert not asyncio.run(check_pdf(appended, roots)).genuine
    with pytest.raises(ValueError):
        asyncio.run(check_pdf(b"not a pdf at all", roots))


def test_cli_init_seal_import_and_show_print_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from cloudwindow.cli import app

    monkeypatch.setenv("CLOUDWINDOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CLOUDWINDOW_DATA_KEY", _key())
    runner = CliRunner()
    init = runner.invoke(app, ["trust", "init"])
    assert init.exit_code == 0, init.output
    assert json.loads(init.output)["ca"]["subject"].startswith("CN=云窗口政务服务平台电子印章CA")
    seal = runner.invoke(app, ["trust", "seal", "ZC-MZ", "--name", "广州市增城区民政局"])
    assert seal.exit_code == 0 and seal.output.startswith("广州市增城区民政局 ")
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(_external_p12(b"s3cret"))
    monkeypatch.setenv("CLOUDWINDOW_P12_PASSWORD", "wrong")
    bad = runner.invoke(app, ["trust", "import-p12", "ZC-WB", str(p12)])
    assert bad.exit_code == 1 and "无法导入印章证书" in bad.output
    monkeypatch.setenv("CLOUDWINDOW_P12_PASSWORD", "s3cret")
    ok = runner.invoke(app, ["trust", "import-p12", "ZC-WB", str(p12)])
    assert ok.exit_code == 0 and ok.output.startswith("外部CA测试局 "), ok.output
    shown = runner.invoke(app, ["trust", "show"])
    seals = {s["department_code"]: s for s in json.loads(shown.output)["seals"]}
    assert set(seals) == {"ZC-MZ", "ZC-WB"}
    assert "某省电子认证服务CA" in seals["ZC-WB"]["issuer"]
    for out in (init.output, seal.output, ok.output, shown.output):
        assert "PRIVATE KEY" not in out


def test_mangled_sealed_pdfs_are_never_genuine_and_never_crash(tmp_path: Path) -> None:
    """Random byte changes and truncations (what an upload may be): the check either
    says not genuine / not signed or refuses the file as unreadable (ValueError)."""
    import random

    s = settings(tmp_path, _key())
    seal = ca.seal_for(s, "ZC-SBJ", "外部CA测试局")
    pdf = asyncio.run(seal_pdf(render_document(_content()), seal, "测试", "增城"))
    roots = ca.trusted_roots(s)
    rng = random.Random(20261127)
    outcomes: set[str] = set()
    for i in range(40):
        data = bytearray(pdf)
        for _ in range(rng.choice([1, 3, 20])):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if i % 8 == 0:
            data = data[: rng.randrange(len(data))]
        try:
            check = asyncio.run(check_pdf(bytes(data), roots))
        except ValueError:
            outcomes.add("unreadable")
            continue
        assert not check.genuine, i
        outcomes.add("not genuine")
    assert outcomes == {"unreadable", "not genuine"}
