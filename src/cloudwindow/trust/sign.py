"""PAdES signatures with pyHanko: sealing a rendered PDF with a department's seal
certificate (PAdES-B-B), and validating an uploaded one against the platform's roots
— docs/trust.md §Signature.

No document timestamp: a timestamp needs a TSA, and the platform must work offline on
closed government networks. The signing time is the signed ``signingTime`` attribute.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore, SimpleTrustManager

from cloudwindow.trust.ca import SealIdentity

FIELD = "CloudWindowSeal"


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


async def seal_pdf(pdf: bytes, seal: SealIdentity, reason: str, location: str) -> bytes:
    """Sign ``pdf`` with the seal (PAdES baseline B-B, SHA-256, certification signature
    allowing no changes), the certificate chain embedded."""
    key_der = seal.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1_cert(seal.cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [_asn1_cert(c) for c in seal.chain]
        ),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=seal.signer_name,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    # Space for the CMS blob reserved up front: without it pyHanko signs twice (a dry run
    # to measure). 16 KiB holds an RSA-2048/EC seal with a chain of a few certificates.
    out = await signers.async_sign_pdf(writer, meta, signer=signer, bytes_reserved=16384)
    return bytes(out.getvalue())


@dataclass
class SignatureCheck:
    """What pyHanko found in an uploaded PDF."""

    signed: bool
    intact: bool = False  # the signed bytes are unchanged
    valid: bool = False  # the signature is mathematically good
    trusted: bool = False  # the certificate chains to a trusted root
    covers_whole_file: bool = False  # nothing was appended after signing
    signer: str = ""
    signing_time: datetime | None = None
    document_id: str | None = None  # from the PDF's keywords (cloudwindow-document:<id>)

    @property
    def genuine(self) -> bool:
        return self.intact and self.valid and self.trusted and self.covers_whole_file


def document_id_of(reader: PdfFileReader) -> str | None:
    try:
        info = reader.trailer_view.get("/Info")
        keywords = str(info.get_object().get("/Keywords", "")) if info is not None else ""
    except Exception:  # a hostile file's metadata may fail in any way: no id then
        return None
    prefix = "cloudwindow-document:"
    return keywords[len(prefix) :].strip()[:40] if keywords.startswith(prefix) else None


async def check_pdf(pdf: bytes, roots: list[x509.Certificate]) -> SignatureCheck:
    """Validate the (first) signature of ``pdf`` against ``roots`` only (no fetching:
    offline). Raises ``ValueError`` if the bytes are not a readable PDF."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception as exc:  # uploaded bytes are hostile: any parser failure = unreadable
        raise ValueError("unreadable PDF") from exc
    doc_id = document_id_of(reader)
    if not sigs:
        return SignatureCheck(signed=False, document_id=doc_id)
    sig = sigs[0]
    context = ValidationContext(
        trust_manager=SimpleTrustManager.build(trust_roots=[_asn1_cert(r) for r in roots]),
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    try:
        status = await async_validate_pdf_signature(sig, context)
    except Exception as exc:
        # A signature so mangled it cannot even be evaluated: signed, but not genuine.
        return SignatureCheck(signed=True, document_id=doc_id, signer=type(exc).__name__)
    cert = status.signing_cert
    signer = str(cert.subject.native.get("common_name", "")) if cert is not None else ""
    return SignatureCheck(
        signed=True,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=signer,
        signing_time=status.signer_reported_dt,
        document_id=doc_id,
    )
