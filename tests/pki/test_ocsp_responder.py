"""The dev OCSP responder over real loopback sockets, and its answers to bad input."""

from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from fastapi.testclient import TestClient

from keys.devpki import DevCa
from keys.fixedpki import REVOKED_AT, REVOKED_MEMBER, FixedPki
from keys.issued import IssuedIndex
from keys.ocsp import REQUEST_MEDIA_TYPE, fetch_from_aia, fetch_ocsp
from keys.ocsp_responses import MAX_REQUEST_BYTES, OcspResponder
from keys.services import create_ocsp_app
from xroad.clock import SystemClock
from xroad.errors import CertificateError, TransportError
from xroad.signing.ocsp import (
    CertificateRevoked,
    CertificateStatusUnknown,
    OcspError,
    check_ocsp,
)

IssueCert = Callable[..., x509.Certificate]


def test_good(pki: FixedPki, ocsp_url: str, issue: IssueCert, now: datetime) -> None:
    cert = issue(pki.ca)
    response = fetch_ocsp(ocsp_url, cert, pki.ca.issuing)
    check_ocsp(response, cert, pki.ca.issuing, pki.anchors, now)


def test_fetch_from_the_url_in_the_certificate(pki: FixedPki, ocsp_url: str,
                                               issue: IssueCert, now: datetime) -> None:
    cert = issue(dataclasses.replace(pki.ca, ocsp_url=ocsp_url))
    response = fetch_from_aia(timeout=5)(cert, pki.ca.issuing)
    check_ocsp(response, cert, pki.ca.issuing, pki.anchors, now)


def test_revocation_shows_up(pki: FixedPki, ocsp_url: str, issue: IssueCert,
                             now: datetime) -> None:
    cert = issue(pki.ca)
    check_ocsp(fetch_ocsp(ocsp_url, cert, pki.ca.issuing), cert, pki.ca.issuing, pki.anchors, now)
    pki.ca.revoke(cert.serial_number, x509.ReasonFlags.key_compromise, now)
    response = fetch_ocsp(ocsp_url, cert, pki.ca.issuing)
    at = now.replace(microsecond=0).isoformat()
    with pytest.raises(CertificateRevoked, match=re.escape(f"revoked at {at} (keyCompromise)")):
        check_ocsp(response, cert, pki.ca.issuing, pki.anchors, now)


def test_fixed_revoked_member(pki: FixedPki, ocsp_url: str, now: datetime) -> None:
    cert = pki.members[REVOKED_MEMBER].certificate
    with pytest.raises(CertificateRevoked, match=re.escape(f"revoked at {REVOKED_AT.isoformat()}")):
        check_ocsp(fetch_ocsp(ocsp_url, cert, pki.ca.issuing), cert, pki.ca.issuing,
                   pki.anchors, now)


def test_certificate_the_ca_never_recorded_is_unknown(pki: FixedPki, ocsp_url: str,
                                                      issue: IssueCert, now: datetime,
                                                      tmp_path: Path) -> None:
    template = issue(pki.ca)
    unrecorded = (x509.CertificateBuilder().subject_name(template.subject)
                  .issuer_name(pki.ca.issuing.subject).public_key(template.public_key())
                  .serial_number(x509.random_serial_number())
                  .not_valid_before(template.not_valid_before_utc)
                  .not_valid_after(template.not_valid_after_utc)
                  .sign(pki.ca.issuing_key, hashes.SHA256()))
    response = fetch_ocsp(ocsp_url, unrecorded, pki.ca.issuing)
    with pytest.raises(CertificateStatusUnknown):
        check_ocsp(response, unrecorded, pki.ca.issuing, pki.anchors, now)


def test_other_issuer_is_unauthorized(foreign_ca: DevCa, ocsp_url: str, issue: IssueCert,
                                      now: datetime) -> None:
    cert = issue(foreign_ca)
    response = fetch_ocsp(ocsp_url, cert, foreign_ca.issuing)
    assert (ocsp.load_der_ocsp_response(response).response_status
            == ocsp.OCSPResponseStatus.UNAUTHORIZED)
    with pytest.raises(OcspError, match="UNAUTHORIZED"):
        check_ocsp(response, cert, foreign_ca.issuing, [foreign_ca.root], now)


def test_get_with_base64_path(pki: FixedPki, ocsp_url: str, issue: IssueCert,
                              now: datetime) -> None:
    cert = issue(pki.ca)
    request = (ocsp.OCSPRequestBuilder().add_certificate(cert, pki.ca.issuing, hashes.SHA256())
               .build().public_bytes(Encoding.DER))
    reply = httpx.get(f"{ocsp_url}/{quote(base64.b64encode(request).decode(), safe='')}")
    assert reply.headers["content-type"] == "application/ocsp-response"
    check_ocsp(reply.content, cert, pki.ca.issuing, pki.anchors, now)


def test_health(ocsp_url: str) -> None:
    assert httpx.get(f"{ocsp_url}/health").json()["status"] == "ok"


def _status(reply: httpx.Response) -> ocsp.OCSPResponseStatus:
    assert reply.status_code == 200
    return ocsp.load_der_ocsp_response(reply.content).response_status


@pytest.mark.parametrize(("body", "media_type"), [
    (b"\x30\x03\x02\x01\x01", REQUEST_MEDIA_TYPE),
    (b"not DER at all", REQUEST_MEDIA_TYPE),
    (b"", REQUEST_MEDIA_TYPE),
    (b"\x30" * (MAX_REQUEST_BYTES + 1), REQUEST_MEDIA_TYPE),
    (b"\x30\x00", "text/plain"),
], ids=["wrong-structure", "garbage", "empty", "too-large", "wrong-content-type"])
def test_malformed_requests(responder: OcspResponder, body: bytes, media_type: str) -> None:
    client = TestClient(create_ocsp_app(responder, SystemClock()))
    reply = client.post("/", content=body, headers={"Content-Type": media_type})
    assert _status(reply) == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_malformed_get(responder: OcspResponder) -> None:
    client = TestClient(create_ocsp_app(responder, SystemClock()))
    assert _status(client.get("/not*base64")) == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    assert _status(client.get("/AAAA")) == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_unreadable_index_is_an_internal_error(pki: FixedPki, issue: IssueCert,
                                               tmp_path: Path) -> None:
    broken = OcspResponder(pki.ca.issuing, pki.ocsp, IssuedIndex(tmp_path))  # a directory
    client = TestClient(create_ocsp_app(broken, SystemClock()))
    request = (ocsp.OCSPRequestBuilder().add_certificate(issue(pki.ca), pki.ca.issuing,
                                                         hashes.SHA256())
               .build().public_bytes(Encoding.DER))
    reply = client.post("/", content=request, headers={"Content-Type": REQUEST_MEDIA_TYPE})
    assert _status(reply) == ocsp.OCSPResponseStatus.INTERNAL_ERROR


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_ocsp_interop(pki: FixedPki, pki_dir: Path, ocsp_url: str, issue: IssueCert,
                              tmp_path: Path) -> None:
    cert = issue(pki.ca)
    (tmp_path / "issuer.pem").write_bytes(pki.ca.issuing.public_bytes(Encoding.PEM))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(Encoding.PEM))

    def openssl_status() -> str:
        done = subprocess.run(
            ["openssl", "ocsp", "-issuer", "issuer.pem", "-cert", "cert.pem", "-url", ocsp_url,
             "-CAfile", str(pki_dir / "ca-chain.pem")],
            cwd=tmp_path, capture_output=True, text=True, timeout=20, check=True)
        assert "Response verify OK" in done.stderr, done.stderr
        return done.stdout

    assert "cert.pem: good" in openssl_status()
    pki.ca.revoke(cert.serial_number, x509.ReasonFlags.key_compromise, datetime.now().astimezone())
    out = openssl_status()
    assert "cert.pem: revoked" in out
    assert "Reason: keyCompromise" in out


def test_unreachable_responder_is_a_transport_error(pki: FixedPki, issue: IssueCert) -> None:
    with pytest.raises(TransportError):
        fetch_ocsp("http://127.0.0.1:9", issue(pki.ca), pki.ca.issuing, timeout=2)


def test_untrusted_issuer_is_refused(pki: FixedPki, foreign_ca: DevCa, ocsp_url: str,
                                     issue: IssueCert, now: datetime) -> None:
    cert = issue(pki.ca)
    with pytest.raises(CertificateError):
        check_ocsp(fetch_ocsp(ocsp_url, cert, pki.ca.issuing), cert, pki.ca.issuing,
                   [foreign_ca.root], now)
