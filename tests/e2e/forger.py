"""A forger on a registered security server's connection: crafts messages the way the client
proxy would, then breaks one rule at a time, so the provider's checks meet real attacks over
real mutual TLS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import serialization

from keys.devpki import DevCa, load_dev_ca, new_key
from keys.ocsp import fetch_ocsp
from keys.token import SoftwareSigner, SoftwareToken
from tests.e2e.demo import RunningDemo
from xroad.encryption import CONTENT_TYPE as ENCRYPTED
from xroad.encryption import encrypt
from xroad.globalconf import codec
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf
from xroad.identifiers import ClientId, SecurityServerId, ServiceId
from xroad.messages import multipart, rest
from xroad.messages.multipart import Part
from xroad.proxy import tls
from xroad.proxy.context import INNER_CONTENT_TYPE, encryption_context
from xroad.signing.message import Direction, sign_message

PIN = "demo-token-pin"
CONSUMER = SecurityServerId.parse("MN/GOV/EMONGOLIA/ss1")
PROVIDER = SecurityServerId.parse("MN/GOV/GASR/ss1")
PORTAL = ClientId.parse("MN/GOV/EMONGOLIA/portal")
PERSONS = ServiceId.parse("MN/GOV/GASR/civil-registry/persons")


@dataclass
class Forger:
    demo: RunningDemo

    def conf(self) -> GlobalConf:
        anchor = ConfigurationAnchor.decode((self.demo.data_dir / "central" / "anchor.json")
                                            .read_bytes())
        signed = httpx.get(anchor.download_url, timeout=10).content
        conf, _ = codec.verify(signed, anchor.instance, list(anchor.verification_certs))
        return conf

    def ca(self) -> DevCa:
        return load_dev_ca(self.demo.data_dir / "pki", PIN)

    def signer(self, member: str = "MN/GOV/EMONGOLIA", issued: datetime | None = None,
               days: int = 365) -> SoftwareSigner:
        """A signing key with a certificate from the instance's own CA."""
        ca, key = self.ca(), new_key()
        cert = ca.issue_signing_cert(ClientId.parse(member), key.public_key(),
                                     issued or datetime.now(UTC), days)
        token = SoftwareToken(self.demo.data_dir / "forger" / uuid.uuid4().hex)
        token.store("sign", key, [cert, *ca.chain], PIN)
        return token.unlock("sign", PIN)

    def consumer_signer(self) -> SoftwareSigner:
        return SoftwareToken(self.demo.server_dir(str(CONSUMER)) / "token").unlock(
            "sign-MN_GOV_EMONGOLIA", PIN)

    def ocsp(self, signer: SoftwareSigner) -> bytes:
        return fetch_ocsp(self.demo.instance["trust_services"]["ocsp_url"], signer.certificate,
                          signer.chain[1])

    def rest_parts(self, message_id: str, body: bytes = b"") -> list[Part]:
        header = rest.RestRequest(
            method="GET", service=PERSONS, path="/" + quote("УБ99112233", safe=""), query="",
            client=PORTAL, message_id=message_id, user_id=None, issue=None,
            represented_party=None, headers=(("Accept", "application/json"),)).encode()
        parts = [Part(rest.REQUEST_CONTENT_TYPE, header)]
        if body:
            parts.append(Part(rest.BODY_CONTENT_TYPE, body))
        return parts

    def signed(self, parts: list[Part], request_id: str, message_id: str,
               signer: SoftwareSigner, ocsp: bytes | None, signed_at: datetime | None = None
               ) -> list[Part]:
        return [*parts, sign_message(
            parts, direction=Direction.REQUEST, request_id=request_id, message_id=message_id,
            client=str(PORTAL), service=str(PERSONS), signer=signer, chain=signer.chain,
            at=signed_at or datetime.now(UTC), ocsp=ocsp)]

    def sealed(self, parts: list[Part], request_id: str) -> tuple[str, list[bytes]]:
        """The multipart type and the encrypted stream as a list of frames (header, chunks)."""
        inner_type, plain = multipart.encode(parts)
        key = self.conf().server(PROVIDER).encryption_key(self.conf().encryption_suite)
        return inner_type, list(encrypt([plain], key, encryption_context(
            "request", request_id, CONSUMER, PROVIDER)))

    def post(self, request_id: str, inner_type: str, body: bytes | Iterator[bytes]
             ) -> httpx.Response:
        token = self.demo.server_dir(str(CONSUMER)) / "token"
        ca_pem = (self.demo.data_dir / "pki" / "ca-chain.pem").read_text()
        context = tls.client_context(token / "auth.cert.pem", token / "auth.key.pem", PIN, ca_pem)
        with httpx.Client(verify=context, timeout=30) as http:
            return http.post(self.demo.server(str(PROVIDER))["server_url"] + "/", content=body,
                             headers={"Content-Type": ENCRYPTED, INNER_CONTENT_TYPE: inner_type,
                                      "X-Road-Request-Id": request_id,
                                      "X-Road-Message-Type": "REST"})

    def send(self, parts: list[Part], request_id: str) -> httpx.Response:
        inner_type, frames = self.sealed(parts, request_id)
        return self.post(request_id, inner_type, b"".join(frames))


def fresh_ids() -> tuple[str, str]:
    return str(uuid.uuid4()), str(uuid.uuid4())


def pem(signer: SoftwareSigner) -> bytes:
    return signer.certificate.public_bytes(serialization.Encoding.PEM)


ONE_HOUR = timedelta(hours=1)
