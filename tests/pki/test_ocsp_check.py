"""`check_ocsp` on both sides of each time edge, and against responders it must not trust."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from keys.devpki import DevCa
from keys.fixedpki import GOOD_MEMBER, FixedPki
from keys.ocsp_responses import OcspResponder
from keys.token import SoftwareSigner
from xroad.errors import CertificateError
from xroad.signing.ocsp import OcspError, StaleOcspResponse, check_ocsp

IssueCert = Callable[..., x509.Certificate]
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


def _request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    return (ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303
            .build().public_bytes(Encoding.DER))


def _answer(responder: OcspResponder, cert: x509.Certificate, now: datetime) -> bytes:
    return responder.respond(_request(cert, responder.issuer), now)


def _times(response: bytes) -> tuple[datetime, datetime]:
    parsed = ocsp.load_der_ocsp_response(response)
    return parsed.produced_at_utc, parsed.this_update_utc


# offset of `at` from producedAt/thisUpdate; freshness; expected error (None: accepted)
TIME_EDGES = {
    "fresh": (HOUR - SECOND, 3600, None),
    "older than freshness": (HOUR + 2 * SECOND, 3600, "older than 3600 s"),
    "nextUpdate passed": (HOUR + 2 * SECOND, 7200, "expired at"),
    "skew within 60 s": (-50 * SECOND, 3600, None),
    "from the future": (-5 * 60 * SECOND, 3600, "in the future"),
}


@pytest.mark.parametrize(("offset", "freshness", "error"), TIME_EDGES.values(),
                         ids=TIME_EDGES.keys())
def test_time_edges(pki: FixedPki, responder: OcspResponder, issue: IssueCert, now: datetime,
                    offset: timedelta, freshness: int, error: str | None) -> None:
    cert = issue(pki.ca)
    response = _answer(responder, cert, now)
    produced_at, this_update = _times(response)
    assert abs(produced_at - this_update) < 2 * SECOND  # both "now" (system clock)
    first, last = sorted((produced_at, this_update))
    at = last + offset if offset > timedelta(0) else first + offset
    if error is None:
        check_ocsp(response, cert, pki.ca.issuing, pki.anchors, at, freshness)
    else:
        with pytest.raises(StaleOcspResponse, match=error):
            check_ocsp(response, cert, pki.ca.issuing, pki.anchors, at, freshness)


def test_issuer_may_answer_itself(pki: FixedPki, issue: IssueCert, now: datetime) -> None:
    itself = SoftwareSigner("issuing-ca", pki.ca.issuing_key, tuple(pki.ca.chain))
    cert = issue(pki.ca)
    response = _answer(OcspResponder(pki.ca.issuing, itself, pki.ca.index), cert, now)
    check_ocsp(response, cert, pki.ca.issuing, pki.anchors, now)


def test_member_key_is_not_an_authorised_responder(pki: FixedPki, issue: IssueCert,
                                                   now: datetime) -> None:
    member = pki.members[GOOD_MEMBER]
    cert = issue(pki.ca)
    response = _answer(OcspResponder(pki.ca.issuing, member, pki.ca.index), cert, now)
    with pytest.raises(OcspError, match="not authorised"):
        check_ocsp(response, cert, pki.ca.issuing, pki.anchors, now)


def test_foreign_responder_is_not_authorised(pki: FixedPki, foreign_ca: DevCa,
                                             issue: IssueCert, now: datetime, pin: str) -> None:
    foreign = foreign_ca.ensure_ocsp_signer(pin, now)
    cert = issue(pki.ca)
    response = _answer(OcspResponder(pki.ca.issuing, foreign, pki.ca.index), cert, now)
    with pytest.raises(OcspError, match="not authorised by the issuer"):
        check_ocsp(response, cert, pki.ca.issuing, pki.anchors, now)


def test_bad_responder_signature(pki: FixedPki, responder: OcspResponder, issue: IssueCert,
                                 now: datetime) -> None:
    cert = issue(pki.ca)
    response = _answer(responder, cert, now)
    signature = ocsp.load_der_ocsp_response(response).signature
    response = response.replace(signature, signature[:-1] + bytes([signature[-1] ^ 1]))
    with pytest.raises(OcspError, match="signature does not verify"):
        check_ocsp(response, cert, pki.ca.issuing, pki.anchors, now)


def test_response_about_another_certificate(pki: FixedPki, responder: OcspResponder,
                                            issue: IssueCert, now: datetime) -> None:
    response = _answer(responder, issue(pki.ca), now)
    with pytest.raises(OcspError, match="CertID mismatch"):
        check_ocsp(response, issue(pki.ca), pki.ca.issuing, pki.anchors, now)


def test_issuer_that_did_not_issue_the_certificate(pki: FixedPki, foreign_ca: DevCa,
                                                   responder: OcspResponder, issue: IssueCert,
                                                   now: datetime) -> None:
    cert = issue(pki.ca)
    with pytest.raises(OcspError, match="did not issue"):
        check_ocsp(_answer(responder, cert, now), cert, foreign_ca.issuing, pki.anchors, now)


@pytest.mark.parametrize("response", [b"", b"\x30\x03\x0a\x01\x00", b"garbage"])
def test_malformed_response(pki: FixedPki, issue: IssueCert, now: datetime,
                            response: bytes) -> None:
    with pytest.raises(CertificateError):
        check_ocsp(response, issue(pki.ca), pki.ca.issuing, pki.anchors, now)


def test_naive_time_is_a_bug(pki: FixedPki, responder: OcspResponder, issue: IssueCert,
                             now: datetime) -> None:
    cert = issue(pki.ca)
    with pytest.raises(ValueError, match="naive"):
        check_ocsp(_answer(responder, cert, now), cert, pki.ca.issuing, pki.anchors,
                   now.replace(tzinfo=None))
