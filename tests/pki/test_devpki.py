"""The dev CA: deterministic fixtures, the index of issued certificates, service certificates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from keys.devpki import DEFAULT_OCSP_URL, ensure_dev_ca, load_dev_ca, new_key
from keys.fixedpki import (
    EPOCH,
    GOOD_MEMBER,
    REVOKED_AT,
    REVOKED_MEMBER,
    SERIALS,
    FixedPki,
    build_fixed_pki,
)
from keys.issued import CertStatus
from keys.ocsp import ocsp_url_of
from xroad.identifiers import ClientId, SecurityServerId

IssueCert = Callable[..., x509.Certificate]


def _all_certs(pki: FixedPki) -> list[bytes]:
    certs = [pki.ca.root, pki.ca.issuing, pki.ocsp.certificate, pki.tsa.certificate,
             *(s.certificate for s in pki.members.values())]
    return [c.public_bytes(Encoding.DER) for c in certs]


def test_fixed_pki_is_byte_identical(pki: FixedPki, tmp_path: Path, pin: str) -> None:
    again = build_fixed_pki(tmp_path, pin)
    assert _all_certs(again) == _all_certs(pki)
    assert pki.ca.root.serial_number == SERIALS["root"]
    assert pki.members[GOOD_MEMBER].certificate.not_valid_before_utc == EPOCH - timedelta(hours=1)


def test_fixed_pki_has_a_revoked_member(pki: FixedPki) -> None:
    record = pki.ca.status(SERIALS[str(REVOKED_MEMBER)])
    assert record is not None
    assert record.status == CertStatus.REVOKED
    assert record.revoked_at == REVOKED_AT
    assert record.reason == x509.ReasonFlags.key_compromise


def test_index_records_every_issued_certificate(pki: FixedPki) -> None:
    serials = {r.serial for r in pki.ca.index.all()}
    assert serials == {SERIALS[k] for k in SERIALS if k not in ("root", "issuing")}


def test_revoke_and_status(pki: FixedPki, issue: IssueCert) -> None:
    cert = issue(pki.ca)
    record = pki.ca.status(cert.serial_number)
    assert record is not None
    assert record.status == CertStatus.GOOD
    when = EPOCH + timedelta(days=3, microseconds=5)
    revoked = pki.ca.revoke(cert.serial_number, x509.ReasonFlags.superseded, when)
    assert revoked.status == CertStatus.REVOKED
    assert revoked.revoked_at == when.replace(microsecond=0)
    with pytest.raises(ValueError, match="already revoked"):
        pki.ca.revoke(cert.serial_number, x509.ReasonFlags.superseded, when)


def test_revoke_refuses_unknown_serial_and_remove_from_crl(pki: FixedPki, issue: IssueCert
                                                           ) -> None:
    assert pki.ca.status(0xDEAD) is None
    with pytest.raises(LookupError):
        pki.ca.revoke(0xDEAD, x509.ReasonFlags.unspecified, EPOCH)
    with pytest.raises(ValueError, match="removeFromCRL"):
        pki.ca.revoke(issue(pki.ca).serial_number, x509.ReasonFlags.remove_from_crl, EPOCH)


def test_ocsp_responder_certificate(pki: FixedPki) -> None:
    cert = pki.ocsp.certificate
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    cert.extensions.get_extension_for_class(x509.OCSPNoCheck)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)


def test_tsa_certificate(pki: FixedPki) -> None:
    eku = pki.tsa.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_leaves_point_to_the_ocsp_responder(tmp_path: Path, pin: str) -> None:
    ca = ensure_dev_ca(tmp_path / "a", "MN", pin, EPOCH)
    cert = ca.issue_signing_cert(ClientId.parse("MN/GOV/GASR"), new_key().public_key(), EPOCH)
    assert ocsp_url_of(cert) == DEFAULT_OCSP_URL
    ca = ensure_dev_ca(tmp_path / "b", "MN", pin, EPOCH, ocsp_url=None)
    cert = ca.issue_auth_cert(SecurityServerId.parse("MN/GOV/GASR/ss1"),
                              new_key().public_key(), EPOCH)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess)


def test_service_signers_are_issued_once_and_renewed_near_expiry(tmp_path: Path, pin: str
                                                                 ) -> None:
    ensure_dev_ca(tmp_path, "MN", pin, EPOCH)
    ca = load_dev_ca(tmp_path, pin)
    first = ca.ensure_ocsp_signer(pin, EPOCH)
    assert ca.ensure_ocsp_signer(pin, EPOCH + timedelta(days=300)).certificate == first.certificate
    renewed = ca.ensure_ocsp_signer(pin, first.certificate.not_valid_after_utc - timedelta(days=1))
    assert renewed.certificate.serial_number != first.certificate.serial_number
    assert ca.ensure_tsa_signer(pin, EPOCH).certificate != first.certificate
    assert len(ca.index.all()) == 3


def test_a_pki_directory_holds_one_ca(pki_dir: Path, pin: str) -> None:
    with pytest.raises(FileExistsError):
        build_fixed_pki(pki_dir, pin)
