"""The dev TSA over real sockets, `verify_timestamp`, and rejections of bad queries."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from keys.devpki import DevCa, new_key
from keys.fixedpki import EPOCH, GOOD_MEMBER, FixedPki
from keys.services import create_tsa_app
from keys.token import SoftwareSigner
from keys.tsa import QUERY_MEDIA_TYPE, REPLY_MEDIA_TYPE, request_timestamp, timestamp_query
from keys.tsa_responses import MAX_QUERY_BYTES, TimeStampAuthority
from xroad.clock import SystemClock
from xroad.errors import (
    CertificateError,
    MalformedSignature,
    TransportError,
    VerificationError,
)
from xroad.signing.timestamp import (
    TimestampError,
    TimestampRejected,
    TimeStampResp,
    token_from_reply,
    verify_timestamp,
)

IssueCert = Callable[..., x509.Certificate]
DIGEST = hashlib.sha512(b"signed message bytes").digest()


def _token(tsa: TimeStampAuthority, now: datetime, digest: bytes = DIGEST,
           alg: str = "sha512") -> bytes:
    reply = tsa.respond(timestamp_query(digest, alg, 7), now)  # type: ignore[arg-type]
    return token_from_reply(reply.der, digest, 7)


@pytest.mark.parametrize("alg", ["sha256", "sha512"])
def test_request_and_verify(pki: FixedPki, tsa_url: str, now: datetime, alg: str) -> None:
    digest = hashlib.new(alg, b"message").digest()
    token = request_timestamp(tsa_url, digest, alg)  # type: ignore[arg-type]
    gen_time = verify_timestamp(token, digest, pki.anchors, now + timedelta(seconds=2))
    assert abs(gen_time - now) < timedelta(seconds=5)


def test_tampered_digest_is_refused(pki: FixedPki, tsa_url: str, now: datetime) -> None:
    token = request_timestamp(tsa_url, DIGEST)
    other = hashlib.sha512(b"other bytes").digest()
    with pytest.raises(TimestampError, match="messageImprint"):
        verify_timestamp(token, other, pki.anchors, now)


def test_untrusted_tsa_is_refused(tsa: TimeStampAuthority, foreign_ca: DevCa,
                                  now: datetime) -> None:
    with pytest.raises(CertificateError):
        verify_timestamp(_token(tsa, now), DIGEST, [foreign_ca.root], now)


def test_tsa_certificate_must_be_for_time_stamping(pki: FixedPki, now: datetime) -> None:
    token = _token(TimeStampAuthority(pki.members[GOOD_MEMBER]), now)
    with pytest.raises(TimestampError, match="extended key usage"):
        verify_timestamp(token, DIGEST, pki.anchors, now)
    token = _token(TimeStampAuthority(pki.ocsp), now)  # an EKU, but not timeStamping
    with pytest.raises(TimestampError, match="time-stamping only"):
        verify_timestamp(token, DIGEST, pki.anchors, now)


def test_rsa_tsa(pki: FixedPki, now: datetime) -> None:
    key = new_key("rsa")
    cert = pki.ca.issue_tsa_cert(key.public_key(), EPOCH)
    token = _token(TimeStampAuthority(SoftwareSigner("tsa", key, (cert, *pki.ca.chain))), now)
    assert verify_timestamp(token, DIGEST, pki.anchors, now) == now.replace(microsecond=0)


def test_tampered_signature_is_refused(tsa: TimeStampAuthority, pki: FixedPki,
                                       now: datetime) -> None:
    token = _token(tsa, now)
    signature = cms.ContentInfo.load(token)["content"]["signer_infos"][0]["signature"].native
    tampered = token.replace(signature, signature[:-1] + bytes([signature[-1] ^ 1]))
    with pytest.raises(TimestampError, match="signature"):
        verify_timestamp(tampered, DIGEST, pki.anchors, now)


def test_tampered_tst_info_is_refused(tsa: TimeStampAuthority, pki: FixedPki,
                                      now: datetime) -> None:
    token = _token(tsa, now)
    encap = cms.ContentInfo.load(token)["content"]["encap_content_info"]
    gen_time = tsp.TSTInfo.load(encap["content"].contents)["gen_time"].dump()
    earlier = gen_time.replace(str(now.year).encode(), str(now.year - 1).encode())
    with pytest.raises(TimestampError, match="message-digest"):
        verify_timestamp(token.replace(gen_time, earlier), DIGEST, pki.anchors, now)


def test_gen_time_in_the_future_is_refused(tsa: TimeStampAuthority, pki: FixedPki,
                                           now: datetime) -> None:
    with pytest.raises(TimestampError, match="future"):
        verify_timestamp(_token(tsa, now), DIGEST, pki.anchors, now - timedelta(minutes=5))


@pytest.mark.parametrize("token", [b"", b"garbage", b"\x30\x03\x06\x01\x00"])
def test_malformed_token(pki: FixedPki, now: datetime, token: bytes) -> None:
    with pytest.raises(VerificationError):
        verify_timestamp(token, DIGEST, pki.anchors, now)


def _fail_info(reply: httpx.Response) -> set[str]:
    assert reply.headers["content-type"] == REPLY_MEDIA_TYPE
    status = TimeStampResp.load(reply.content)["status"]
    assert status["status"].native == "rejection"
    return set(status["fail_info"].native)


def _query(alg: str, digest: bytes, **fields: object) -> bytes:
    return tsp.TimeStampReq({"version": "v1", "message_imprint": {
        "hash_algorithm": {"algorithm": alg}, "hashed_message": digest}, **fields}).dump()


BAD_QUERIES = {
    "garbage": (b"not a query", "bad_data_format"),
    "empty": (b"", "bad_data_format"),
    "too large": (b"\x30" * (MAX_QUERY_BYTES + 1), "bad_data_format"),
    "sha1": (_query("sha1", hashlib.sha1(b"x").digest()), "bad_alg"),  # noqa: S324
    "short digest": (_query("sha512", b"\x00" * 32), "bad_data_format"),
    "other policy": (_query("sha256", b"\x00" * 32, req_policy="1.2.3.4"), "unaccepted_policy"),
    "extensions": (_query("sha256", b"\x00" * 32, extensions=[
        {"extn_id": "1.2.3.4", "extn_value": b"\x05\x00"}]), "unaccepted_extensions"),
}


@pytest.mark.parametrize(("query", "fail_info"), BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
def test_bad_queries_are_rejected(tsa: TimeStampAuthority, query: bytes, fail_info: str) -> None:
    client = TestClient(create_tsa_app(tsa, SystemClock()))
    reply = client.post("/", content=query, headers={"Content-Type": QUERY_MEDIA_TYPE})
    assert reply.status_code == 400
    assert _fail_info(reply) == {fail_info}


def test_wrong_content_type_is_rejected(tsa_url: str) -> None:
    reply = httpx.post(tsa_url, content=timestamp_query(DIGEST, "sha512", 1),
                       headers={"Content-Type": "application/octet-stream"})
    assert reply.status_code == 400
    assert _fail_info(reply) == {"bad_request"}


def test_tsa_failure_is_a_system_failure(pki: FixedPki) -> None:
    unusable = SoftwareSigner("tsa", Ed25519PrivateKey.generate(), pki.tsa.chain)
    client = TestClient(create_tsa_app(TimeStampAuthority(unusable), SystemClock()))
    reply = client.post("/", content=timestamp_query(DIGEST, "sha512", 1),
                        headers={"Content-Type": QUERY_MEDIA_TYPE})
    assert reply.status_code == 500
    assert _fail_info(reply) == {"system_failure"}


def test_reply_checks(tsa: TimeStampAuthority, now: datetime) -> None:
    granted = tsa.respond(timestamp_query(DIGEST, "sha512", 42), now).der
    with pytest.raises(TimestampError, match="nonce"):
        token_from_reply(granted, DIGEST, 43)
    with pytest.raises(TimestampError, match="messageImprint"):
        token_from_reply(granted, hashlib.sha512(b"other").digest(), 42)
    rejected = tsa.respond(b"junk", now).der
    with pytest.raises(TimestampRejected, match="bad_data_format"):
        token_from_reply(rejected, DIGEST, 42)
    with pytest.raises(MalformedSignature):
        token_from_reply(b"junk", DIGEST, 42)


def test_unreachable_or_wrong_service(tsa_url: str, ocsp_url: str) -> None:
    with pytest.raises(TransportError):
        request_timestamp("http://127.0.0.1:9", DIGEST, timeout=2)
    with pytest.raises(TransportError, match="not a time-stamp reply"):
        request_timestamp(ocsp_url, DIGEST)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_openssl_ts_interop(pki_dir: Path, tsa_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"message to time-stamp")
    chain = str(pki_dir / "ca-chain.pem")

    def openssl(*args: str) -> str:
        return subprocess.run(["openssl", "ts", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=20, check=True).stdout

    openssl("-query", "-data", "data.bin", "-sha256", "-cert", "-out", "query.tsq")
    reply = httpx.post(tsa_url, content=(tmp_path / "query.tsq").read_bytes(),
                       headers={"Content-Type": QUERY_MEDIA_TYPE})
    assert reply.status_code == 200
    (tmp_path / "reply.tsr").write_bytes(reply.content)
    assert "Verification: OK" in openssl("-verify", "-queryfile", "query.tsq", "-in",
                                         "reply.tsr", "-CAfile", chain)
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert "Verification: OK" in openssl("-verify", "-digest", digest, "-in", "reply.tsr",
                                         "-CAfile", chain)
    wrong = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(subprocess.CalledProcessError):
        openssl("-verify", "-digest", wrong, "-in", "reply.tsr", "-CAfile", chain)
