"""Signatures carry OCSP evidence; the receiver refuses a signature without a fresh, good one."""

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from keys.devpki import ensure_dev_ca, new_key
from keys.ocsp_responses import OcspResponder
from keys.token import SoftwareToken
from xroad.errors import CertificateError
from xroad.identifiers import ClientId
from xroad.messages.multipart import Part
from xroad.signing.message import (
    Direction,
    OcspRequired,
    RememberingOcspRequired,
    sign_message,
    verify_message,
)
from xroad.signing.ocsp import CertificateRevoked, StaleOcspResponse

PIN = "pin"
MEMBER = "MN/GOV/GASR"
PARTS = [Part("text/xml", b"<m/>")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    # OCSP producedAt comes from the system clock, so this PKI lives in real time.
    now = datetime.now(UTC)
    ca = ensure_dev_ca(tmp_path_factory.mktemp("pki"), "MN", PIN, now)
    key = new_key()
    cert = ca.issue_signing_cert(ClientId.parse(MEMBER), key.public_key(), now)
    token = SoftwareToken(tmp_path_factory.mktemp("token"))
    token.store("sign", key, [cert, *ca.chain], PIN)
    responder = OcspResponder(ca.issuing, ca.ensure_ocsp_signer(PIN, now), ca.index)
    return ca, token.unlock("sign", PIN), responder


def evidence(responder, cert, issuer):
    request = (ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303
               .build().public_bytes(serialization.Encoding.DER))
    return responder.respond(request, datetime.now(UTC))


def signed(signer, response):
    now = datetime.now(UTC)
    return [*PARTS, sign_message(PARTS, direction=Direction.REQUEST, request_id="r",
                                 message_id="m", client=MEMBER + "/sub", service="x/y/z/w/s",
                                 signer=signer, chain=signer.chain, at=now, ocsp=response)]


def verify(message, ca, at=None, freshness_s=3600):
    return verify_message(message, direction=Direction.REQUEST, request_id="r",
                          expected_signer=MEMBER, approved_cas=[ca.root],
                          at=at or datetime.now(UTC),
                          revocation=OcspRequired([ca.root], freshness_s))


def test_good_evidence_is_accepted(pki):
    ca, signer, responder = pki
    verified = verify(signed(signer, evidence(responder, signer.certificate, ca.issuing)), ca)
    assert verified.signer == MEMBER


def test_signature_without_evidence_is_refused(pki):
    ca, signer, _ = pki
    with pytest.raises(CertificateError, match="no OCSP response"):
        verify(signed(signer, None), ca)


def test_stale_evidence_is_refused(pki):
    ca, signer, responder = pki
    message = signed(signer, evidence(responder, signer.certificate, ca.issuing))
    later = datetime.now(UTC) + timedelta(seconds=3700)
    with pytest.raises(StaleOcspResponse):
        verify(message, ca, at=later, freshness_s=3600)


def test_evidence_about_another_certificate_is_refused(pki):
    ca, signer, responder = pki
    other = ca.issue_signing_cert(ClientId.parse(MEMBER), new_key().public_key(),
                                  datetime.now(UTC))
    with pytest.raises(CertificateError):
        verify(signed(signer, evidence(responder, other, ca.issuing)), ca)


def test_revoked_certificate_is_refused(tmp_path):
    now = datetime.now(UTC)
    ca = ensure_dev_ca(tmp_path / "pki", "MN", PIN, now)
    key = new_key()
    cert = ca.issue_signing_cert(ClientId.parse(MEMBER), key.public_key(), now)
    token = SoftwareToken(tmp_path / "token")
    token.store("sign", key, [cert, *ca.chain], PIN)
    signer = token.unlock("sign", PIN)
    responder = OcspResponder(ca.issuing, ca.ensure_ocsp_signer(PIN, now), ca.index)
    ca.revoke(cert.serial_number, x509.ReasonFlags.key_compromise, now)
    with pytest.raises(CertificateRevoked, match="revoked"):
        verify(signed(signer, evidence(responder, cert, ca.issuing)), ca)


def test_remembered_evidence_is_accepted_only_while_fresh(pki):
    ca, signer, responder = pki
    memory: dict = {}
    check = RememberingOcspRequired([ca.root], 3600, scope=1, memory=memory)
    response = evidence(responder, signer.certificate, ca.issuing)
    now = datetime.now(UTC)
    check.check(signer.certificate, ca.issuing, response, now)
    assert len(memory) == 1
    check.check(signer.certificate, ca.issuing, response, now + timedelta(seconds=60))
    with pytest.raises(StaleOcspResponse):  # past freshness: verified again, and refused
        check.check(signer.certificate, ca.issuing, response, now + timedelta(seconds=3700))


def test_remembered_evidence_does_not_vouch_for_another_certificate(pki):
    ca, signer, responder = pki
    check = RememberingOcspRequired([ca.root], 3600, scope=1, memory={})
    response = evidence(responder, signer.certificate, ca.issuing)
    check.check(signer.certificate, ca.issuing, response, datetime.now(UTC))
    other = ca.issue_signing_cert(ClientId.parse(MEMBER), new_key().public_key(),
                                  datetime.now(UTC))
    with pytest.raises(CertificateError):
        check.check(other, ca.issuing, response, datetime.now(UTC))


def test_remembered_evidence_is_forgotten_when_the_scope_changes(pki):
    ca, signer, responder = pki
    memory: dict = {}
    response = evidence(responder, signer.certificate, ca.issuing)
    RememberingOcspRequired([ca.root], 3600, 1, memory).check(
        signer.certificate, ca.issuing, response, datetime.now(UTC))
    with pytest.raises(CertificateError):  # new configuration trusts nobody
        RememberingOcspRequired([], 3600, 2, memory).check(
            signer.certificate, ca.issuing, response, datetime.now(UTC))
