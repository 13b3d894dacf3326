"""The mutual-TLS endpoint between security servers, attacked directly over real sockets."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from keys.devpki import ensure_dev_ca, new_key
from keys.token import SoftwareToken
from tests.e2e.demo import RunningDemo
from xroad.identifiers import SecurityServerId
from xroad.proxy import tls

pytestmark = pytest.mark.e2e

PIN = "demo-token-pin"
CONSUMER = "MN/GOV/EMONGOLIA/ss1"
PROVIDER = "MN/GOV/GASR/ss1"


def provider_url(demo: RunningDemo) -> str:
    return demo.server(PROVIDER)["server_url"] + "/"


def context_for(demo: RunningDemo, token_dir: Path) -> ssl.SSLContext:
    ca = (demo.data_dir / "pki" / "ca-chain.pem").read_text()
    return tls.client_context(token_dir / "auth.cert.pem", token_dir / "auth.key.pem", PIN, ca)


def post(demo: RunningDemo, context: ssl.SSLContext, content_type: str,
         body: bytes = b"x") -> httpx.Response:
    with httpx.Client(verify=context, timeout=15) as http:
        return http.post(provider_url(demo), content=body, headers={
            "Content-Type": content_type, "X-Road-Request-Id": "r-1",
            "X-Road-Message-Type": "REST"})


def test_registered_server_must_still_encrypt(demo: RunningDemo) -> None:
    reply = post(demo, context_for(demo, demo.server_dir(CONSUMER) / "token"), "multipart/mixed")
    assert reply.status_code == 500
    assert reply.headers["X-Road-Error"] == "Server.ServerProxy.DecryptionFailed"
    assert reply.json()["detail"] in demo.log("ss-MN_GOV_GASR_ss1")


def test_garbage_encrypted_body_is_refused(demo: RunningDemo) -> None:
    reply = post(demo, context_for(demo, demo.server_dir(CONSUMER) / "token"),
                 "application/x-road-encrypted", b"XRE1" + b"\x01" * 64)
    assert reply.headers["X-Road-Error"] == "Server.ServerProxy.DecryptionFailed"


def test_certificate_from_the_approved_ca_but_not_registered_is_refused(
        demo: RunningDemo, tmp_path: Path) -> None:
    at = datetime.now(UTC)
    ca = ensure_dev_ca(demo.data_dir / "pki", "MN", PIN, at)
    key = new_key()
    rogue = SecurityServerId.parse("MN/GOV/GASR/rogue")
    SoftwareToken(tmp_path).store("auth", key, [ca.issue_auth_cert(rogue, key.public_key(), at),
                                                *ca.chain], PIN)
    reply = post(demo, context_for(demo, tmp_path), "application/x-road-encrypted")
    assert reply.status_code == 500
    assert reply.headers["X-Road-Error"] == "Server.ServerProxy.SslAuthenticationFailed"


def test_no_client_certificate_fails_the_handshake(demo: RunningDemo) -> None:
    context = ssl.create_default_context(
        cadata=(demo.data_dir / "pki" / "ca-chain.pem").read_text())
    context.check_hostname = False
    with pytest.raises(httpx.HTTPError), httpx.Client(verify=context, timeout=15) as http:
        http.post(provider_url(demo), content=b"x")


def test_certificate_of_an_unknown_ca_fails_the_handshake(demo: RunningDemo,
                                                          tmp_path: Path) -> None:
    at = datetime.now(UTC)
    other = ensure_dev_ca(tmp_path / "other-pki", "MN", PIN, at)
    key = new_key()
    cert = other.issue_auth_cert(SecurityServerId.parse(CONSUMER), key.public_key(), at)
    SoftwareToken(tmp_path / "t").store("auth", key, [cert, *other.chain], PIN)
    context = context_for(demo, tmp_path / "t")
    context.load_verify_locations(cadata=(demo.data_dir / "pki" / "ca-chain.pem").read_text())
    with pytest.raises(httpx.HTTPError), httpx.Client(verify=context, timeout=15) as http:
        http.post(provider_url(demo), content=b"x")
