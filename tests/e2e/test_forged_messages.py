"""Forged and broken messages from a registered security server, over real mutual TLS.

Each must be refused with its precise fault, a log line with the fault id, nothing delivered
to the registry, and (once the message can be attributed) a record in the audit log.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from keys.devpki import ensure_dev_ca, new_key
from keys.token import SoftwareSigner, SoftwareToken
from tests.e2e.demo import RunningDemo, audit_records
from tests.e2e.forger import ONE_HOUR, Forger, fresh_ids
from xroad.identifiers import ClientId
from xroad.messages.multipart import Part

pytestmark = pytest.mark.e2e

PROVIDER = "MN/GOV/GASR/ss1"


@pytest.fixture(scope="module")
def forger(demo: RunningDemo) -> Forger:
    return Forger(demo)


def refused(demo: RunningDemo, reply: httpx.Response, code: str, message_id: str | None = None
            ) -> None:
    assert reply.status_code == 500, reply.text
    assert reply.headers["X-Road-Error"] == code
    fault = reply.json()
    assert fault["type"] == code
    assert fault["detail"] in demo.log("ss-MN_GOV_GASR_ss1")
    if message_id is not None:
        outcomes = [r["outcome"] for r in audit_records(demo, PROVIDER)
                    if r["message_id"] == message_id]
        assert "ok" not in outcomes, "the request reached the registry"
        assert outcomes == [code]


def test_a_well_formed_forgery_passes(demo: RunningDemo, forger: Forger) -> None:
    """The forger itself is faithful: without a broken rule the provider answers."""
    request_id, message_id = fresh_ids()
    signer = forger.consumer_signer()
    reply = forger.send(forger.signed(forger.rest_parts(message_id), request_id, message_id,
                                      signer, forger.ocsp(signer)), request_id)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/x-road-encrypted"


def test_a_large_message_is_decrypted_as_it_arrives(demo: RunningDemo, forger: Forger) -> None:
    """3 MiB in 48 encrypted chunks, sent chunked: accepted and answered."""
    request_id, message_id = fresh_ids()
    signer = forger.consumer_signer()
    parts = forger.signed(forger.rest_parts(message_id, body=b"\x00" * (3 * 1024 * 1024)),
                          request_id, message_id, signer, forger.ocsp(signer))
    inner_type, frames = forger.sealed(parts, request_id)
    assert len(frames) > 40
    reply = forger.post(request_id, inner_type, iter(frames))
    assert reply.status_code == 200, reply.text


MakeSigner = Callable[[Forger], SoftwareSigner]
CERTIFICATES: dict[str, tuple[MakeSigner, str]] = {
    "expired": (lambda f: f.signer(issued=datetime.now(UTC) - timedelta(days=400)),
                "Server.ServerProxy.CertValidation"),
    "not-yet-valid": (lambda f: f.signer(issued=datetime.now(UTC) + timedelta(days=2)),
                      "Server.ServerProxy.CertValidation"),
    "other-member": (lambda f: f.signer(member="MN/GOV/ALAMGAC"),
                     "Server.ServerProxy.CertValidation"),
}


@pytest.mark.parametrize("case", CERTIFICATES.values(), ids=CERTIFICATES.keys())
def test_unacceptable_signing_certificates(demo: RunningDemo, forger: Forger,
                                           case: tuple[MakeSigner, str]) -> None:
    make, code = case
    signer = make(forger)
    request_id, message_id = fresh_ids()
    parts = forger.signed(forger.rest_parts(message_id), request_id, message_id,
                          signer, forger.ocsp(signer))
    refused(demo, forger.send(parts, request_id), code, message_id)


def test_signature_without_ocsp_evidence(demo: RunningDemo, forger: Forger) -> None:
    request_id, message_id = fresh_ids()
    parts = forger.signed(forger.rest_parts(message_id), request_id, message_id,
                          forger.consumer_signer(), None)
    refused(demo, forger.send(parts, request_id), "Server.ServerProxy.CertValidation",
            message_id)


def test_ocsp_evidence_about_another_certificate(demo: RunningDemo, forger: Forger) -> None:
    request_id, message_id = fresh_ids()
    other = forger.signer()
    parts = forger.signed(forger.rest_parts(message_id), request_id, message_id,
                          forger.consumer_signer(), forger.ocsp(other))
    refused(demo, forger.send(parts, request_id), "Server.ServerProxy.CertValidation",
            message_id)


def _flip_last(part: Part) -> Part:
    return Part(part.content_type, part.data[:-1] + bytes([part.data[-1] ^ 1]))


def _retarget(part: Part) -> Part:
    """Still well-formed, but asking for something else than what was signed."""
    return Part(part.content_type, part.data.replace(b"application/json", b"application/jsom"))


TAMPERING = {
    "byte-in-header-part": lambda parts: [_retarget(parts[0]), *parts[1:]],
    "byte-in-body": lambda parts: [parts[0], _flip_last(parts[1]), parts[2]],
    "body-dropped": lambda parts: [parts[0], parts[2]],
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_bytes_changed_after_signing(demo: RunningDemo, forger: Forger,
                                     tamper: Callable[[list[Part]], list[Part]]) -> None:
    request_id, message_id = fresh_ids()
    signer = forger.consumer_signer()
    parts = forger.signed(forger.rest_parts(message_id, body=b'{"reason": "audit"}'),
                          request_id, message_id, signer, forger.ocsp(signer))
    refused(demo, forger.send(tamper(parts), request_id),
            "Server.ServerProxy.InvalidSignatureValue", message_id)


@pytest.mark.parametrize("offset", [-2 * ONE_HOUR, 2 * ONE_HOUR], ids=["past", "future"])
def test_skewed_signing_time(demo: RunningDemo, forger: Forger, offset: timedelta) -> None:
    request_id, message_id = fresh_ids()
    signer = forger.consumer_signer()
    parts = forger.signed(forger.rest_parts(message_id), request_id, message_id, signer,
                          forger.ocsp(signer), signed_at=datetime.now(UTC) + offset)
    refused(demo, forger.send(parts, request_id), "Server.ServerProxy.ClockSkew", message_id)


def _signed_large(forger: Forger) -> tuple[str, list[Part]]:
    request_id, message_id = fresh_ids()
    signer = forger.consumer_signer()
    return request_id, forger.signed(forger.rest_parts(message_id, body=b"x" * 200_000),
                                     request_id, message_id, signer, forger.ocsp(signer))


STREAMS = {
    "truncated": lambda frames: frames[:-1],
    "re-ordered": lambda frames: [frames[0], frames[2], frames[1], *frames[3:]],
    "chunk-duplicated": lambda frames: [frames[0], frames[1], *frames[1:]],
}


@pytest.mark.parametrize("mangle", STREAMS.values(), ids=STREAMS.keys())
def test_broken_encrypted_streams(demo: RunningDemo, forger: Forger,
                                  mangle: Callable[[list[bytes]], list[bytes]]) -> None:
    request_id, parts = _signed_large(forger)
    inner_type, frames = forger.sealed(parts, request_id)
    assert len(frames) > 3  # header and several chunks
    refused(demo, forger.post(request_id, inner_type, b"".join(mangle(frames))),
            "Server.ServerProxy.DecryptionFailed")


def test_stream_lifted_into_another_exchange(demo: RunningDemo, forger: Forger) -> None:
    request_id, parts = _signed_large(forger)
    inner_type, frames = forger.sealed(parts, request_id)
    refused(demo, forger.post("another-request-id", inner_type, b"".join(frames)),
            "Server.ServerProxy.DecryptionFailed")


def test_signature_bytes_changed(demo: RunningDemo, forger: Forger) -> None:
    request_id, message_id = fresh_ids()
    signer = forger.consumer_signer()
    *content, signature = forger.signed(forger.rest_parts(message_id), request_id, message_id,
                                        signer, forger.ocsp(signer))
    doc = json.loads(signature.data)
    cms = bytearray(base64.b64decode(doc["cms"]))
    cms[-1] ^= 0x01  # the last byte of the signature value
    doc["cms"] = base64.b64encode(bytes(cms)).decode()
    parts = [*content, Part(signature.content_type, json.dumps(doc).encode())]
    refused(demo, forger.send(parts, request_id), "Server.ServerProxy.InvalidSignatureValue",
            message_id)


def test_signing_certificate_from_an_unknown_ca(demo: RunningDemo, forger: Forger,
                                                tmp_path: Path) -> None:
    now = datetime.now(UTC)
    other = ensure_dev_ca(tmp_path / "other-pki", "MN", "pin", now)  # same names, other keys
    key = new_key()
    cert = other.issue_signing_cert(ClientId.parse("MN/GOV/EMONGOLIA"), key.public_key(), now)
    token = SoftwareToken(tmp_path / "token")
    token.store("sign", key, [cert, *other.chain], "pin")
    signer = token.unlock("sign", "pin")
    request_id, message_id = fresh_ids()
    parts = forger.signed(forger.rest_parts(message_id), request_id, message_id, signer, None)
    refused(demo, forger.send(parts, request_id), "Server.ServerProxy.CertValidation",
            message_id)
