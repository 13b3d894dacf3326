"""The dev PKI's OCSP responder and TSA, as started by `make run`, answer real requests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from cryptography import x509

from keys.ocsp import fetch_ocsp
from keys.tsa import request_timestamp
from tests.e2e.demo import RunningDemo
from xroad.signing.ocsp import check_ocsp
from xroad.signing.timestamp import verify_timestamp

pytestmark = pytest.mark.e2e


def test_ocsp_says_good_for_a_member_signing_certificate(demo: RunningDemo) -> None:
    token = demo.server_dir("MN/GOV/GASR/ss1") / "token"
    cert, issuer, *_ = x509.load_pem_x509_certificates(
        (token / "sign-MN_GOV_GASR.cert.pem").read_bytes())
    trusted = x509.load_pem_x509_certificates(
        (demo.data_dir / "pki" / "ca-chain.pem").read_bytes())
    response = fetch_ocsp(demo.instance["trust_services"]["ocsp_url"], cert, issuer)
    check_ocsp(response, cert, issuer, trusted, datetime.now(UTC))


def test_tsa_time_stamps_a_digest(demo: RunningDemo) -> None:
    digest = hashlib.sha512(b"audit checkpoint").digest()
    token = request_timestamp(demo.instance["trust_services"]["tsa_url"], digest)
    trusted = x509.load_pem_x509_certificates(
        (demo.data_dir / "pki" / "ca-chain.pem").read_bytes())
    stamped_at = verify_timestamp(token, digest, trusted, datetime.now(UTC))
    assert abs((datetime.now(UTC) - stamped_at).total_seconds()) < 120
