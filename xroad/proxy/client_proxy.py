"""Client proxy: takes an information system's SOAP or REST request, signs it, sends it to the
provider's security server over mutual TLS, verifies the answer and records both in the audit log.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Final
from urllib.parse import parse_qs

import structlog
from cryptography.hazmat.primitives import serialization

from xroad import errors
from xroad.encryption import CONTENT_TYPE as ENCRYPTED
from xroad.encryption import encrypt
from xroad.errors import BadRequest, InconsistentResponse, UnknownMember, XRoadError
from xroad.globalconf.model import GlobalConf
from xroad.identifiers import ClientId, SecurityServerId
from xroad.messages import mime, multipart, rest, soap
from xroad.messages.faults import (
    Fault,
    parse_rest_error,
    rest_error_body,
    rest_error_xml,
    soap_fault_envelope,
    to_fault,
)
from xroad.messages.multipart import Part
from xroad.proxy.context import (
    FAULT_CONTENT_TYPE,
    INNER_CONTENT_TYPE,
    PROXY_VERSION,
    SecurityServer,
    encryption_context,
    logged_fault,
)
from xroad.proxy.exchange import Exchange, HttpRequest, HttpResponse
from xroad.proxy.http import PeerClient
from xroad.proxy.metaservices import list_clients_json, list_clients_xml
from xroad.proxy.sealed import open_parts
from xroad.replay import check_signing_time
from xroad.signing.message import Direction, VerifiedMessage, digest, sign_message, verify_message

log = structlog.get_logger(__name__)

JSON: Final = "application/json"


class ClientProxy:
    def __init__(self, server: SecurityServer, peers: PeerClient) -> None:
        self._ss = server
        self._peers = peers

    # -- REST r1 ---------------------------------------------------------------------------

    async def rest(self, request: HttpRequest) -> HttpResponse:
        return await self._guard(self._rest, request, soap_faults=False)

    async def _rest(self, request: HttpRequest) -> HttpResponse:
        body = self._body(request)
        service, path = rest.parse_r1_path(request.raw_path)
        rest.check_uri_text(path, request.query)
        client_text = request.header("X-Road-Client")
        if not client_text:
            raise BadRequest("X-Road-Client header is missing")
        exchange = Exchange(
            request_id=str(uuid.uuid4()),
            message_id=request.header("X-Road-Id") or str(uuid.uuid4()),
            client=ClientId.parse(client_text), service=service,
            user_id=request.header("X-Road-UserId"), issue=request.header("X-Road-Issue"),
            represented_party=request.header("X-Road-Represented-Party"),
            security_server=_target(request.header("X-Road-Security-Server")))
        header_part = rest.RestRequest(
            method=request.method, service=service, path=path, query=request.query,
            client=exchange.client, message_id=exchange.message_id, user_id=exchange.user_id,
            issue=exchange.issue, represented_party=exchange.represented_party,
            headers=rest.filter_headers(request.headers)).encode()
        parts = [Part(rest.REQUEST_CONTENT_TYPE, header_part)]
        if body:
            parts.append(Part(rest.BODY_CONTENT_TYPE, body))
        expected_hash = rest.request_hash(header_part, body)
        verified = await self._exchange(exchange, parts, "REST")
        response = rest.RestResponse.decode(verified.parts[0].data)
        if response.request_hash != expected_hash:
            raise InconsistentResponse("X-Road-Request-Hash does not match the request sent")
        answer = verified.parts[1].data if len(verified.parts) > 1 else b""
        headers = (*rest.filter_headers(response.headers),
                   ("X-Road-Client", str(exchange.client)),
                   ("X-Road-Service", str(exchange.service)),
                   ("X-Road-Id", exchange.message_id),
                   ("X-Road-Request-Id", exchange.request_id),
                   ("X-Road-Request-Hash", response.request_hash))
        return HttpResponse(response.status, headers, answer)

    # -- SOAP 4.0 --------------------------------------------------------------------------

    async def soap(self, request: HttpRequest) -> HttpResponse:
        return await self._guard(self._soap, request, soap_faults=True)

    async def _soap(self, request: HttpRequest) -> HttpResponse:
        body = self._body(request)
        content_type = request.header("Content-Type") or ""
        if not (content_type.lower().startswith("text/xml")
                or mime.is_multipart_related(content_type)):
            raise errors.InvalidSoap(f"expected text/xml or multipart/related (attachments, "
                                     f"MTOM), got {content_type!r}")
        soap_bytes, soap_type = mime.soap_of(content_type, body)
        h = soap.parse_soap_request(soap_bytes, soap_type, self._ss.limits)
        exchange = Exchange(str(uuid.uuid4()), h.message_id, h.client, h.service, h.user_id,
                            h.issue, h.represented_party, h.security_server)
        verified = await self._exchange(exchange, [Part(content_type, body)], "SOAP")
        part = verified.parts[0]
        answer_bytes, answer_type = mime.soap_of(part.content_type, part.data)
        answer = soap.parse_soap(answer_bytes, answer_type, self._ss.limits)
        if not answer.is_fault:  # requestHash: over the SOAP part only (X-Road)
            soap.check_consistent(h, answer, soap.soap_request_hash(soap_bytes))
        return HttpResponse(200 if not answer.is_fault else 500,
                            (("Content-Type", part.content_type),), part.data)

    # -- shared ----------------------------------------------------------------------------

    async def _exchange(self, exchange: Exchange, parts: list[Part], kind: str
                        ) -> VerifiedMessage:
        started = time.perf_counter()
        ss = self._ss
        structlog.contextvars.bind_contextvars(
            message_id=exchange.message_id, client=str(exchange.client),
            service=str(exchange.service), request_id=exchange.request_id)
        at = ss.clock.now()
        own = ss.globalconf.current(at)
        ss.audit_ready()
        self._check_client(own, exchange.client)
        # The provider's instance says where it is and by which rules it answers: this one's
        # configuration or a federated one's (`UnknownInstance` if nobody trusts it).
        conf = ss.confs.current(exchange.service.provider.instance, at)
        servers = conf.servers_hosting(exchange.service.provider)
        if not servers:
            conf.member(exchange.service.provider)  # UnknownMember if not even a member
            raise UnknownMember(f"no security server hosts {exchange.service.provider}")
        if exchange.security_server is not None:
            servers = [s for s in servers if s.id == exchange.security_server]
            if not servers:
                raise errors.InvalidSecurityServer(
                    f"{exchange.security_server} does not serve {exchange.service.provider}")
        signer = ss.signer_for(exchange.client)
        signature = sign_message(
            parts, direction=Direction.REQUEST, request_id=exchange.request_id,
            message_id=exchange.message_id, client=str(exchange.client),
            service=str(exchange.service), signer=signer, chain=signer.chain, at=at,
            ocsp=await ss.ocsp.response_for(signer))
        inner_type, plain = multipart.encode_stream([*parts, signature])
        server_name = str(ss.server_id)
        subjects = ss.subjects_of(parts[0].data)
        await ss.record(exchange.record(
            server_name, "request", at, outcome="ok", message_digest=digest(parts[0].data),
            signature_digest=digest(signature.data),
            signer_cert_sha256=hashlib.sha256(signer.certificate.public_bytes(
                serialization.Encoding.DER)).hexdigest(), subjects=subjects),
            role="consumer", signature=signature.data, parts=parts, keeper=exchange.client)
        try:
            target = servers[0]
            body = encrypt(plain, target.encryption_key(conf.encryption_suite),
                           encryption_context("request", exchange.request_id, ss.server_id,
                                              target.id))
            context = encryption_context("response", exchange.request_id, target.id,
                                         ss.server_id)

            async def receive(_: int, reply_headers: Mapping[str, str],
                              content: AsyncIterator[bytes]) -> list[Part]:
                reply_type = reply_headers.get("content-type", "")
                if reply_type.startswith(FAULT_CONTENT_TYPE):
                    raise parse_rest_error(await _read_small(content))
                if reply_type != ENCRYPTED:
                    raise errors.DecryptionFailed(f"response is not encrypted ({reply_type!r})")
                return await open_parts(content, ss.encryption_keys,
                                        reply_headers.get(INNER_CONTENT_TYPE.lower(), ""),
                                        context, ss.limits.max_body_bytes)

            answer_parts = await self._peers.post(
                target.address.rstrip("/") + "/", target.auth_cert_hashes,
                {"Content-Type": ENCRYPTED, INNER_CONTENT_TYPE: inner_type,
                 "X-Road-Request-Id": exchange.request_id, "X-Road-Message-Type": kind,
                 "X-Proxy-Version": PROXY_VERSION},
                body, ss.limits.service_timeout_s, receive)
            now = ss.clock.now()
            verified = verify_message(
                answer_parts, direction=Direction.RESPONSE,
                request_id=exchange.request_id,
                expected_signer=str(exchange.service.provider.member),
                approved_cas=conf.approved_cas, at=now, revocation=ss.revocation(conf))
            check_signing_time(verified.manifest.signed_at, now, ss.max_clock_skew)
        except XRoadError as e:
            fault = to_fault(e, "ClientProxy", ss.fault_spelling, "")
            await ss.record(exchange.record(server_name, "response", ss.clock.now(),
                                            outcome=fault.code,
                                            latency_ms=(time.perf_counter() - started) * 1000,
                                            subjects=subjects), role="consumer")
            raise
        await ss.record(exchange.record(
            server_name, "response", now, outcome="ok",
            message_digest=digest(verified.parts[0].data),
            signature_digest=verified.signature_digest,
            signer_cert_sha256=hashlib.sha256(verified.signer_cert.public_bytes(
                serialization.Encoding.DER)).hexdigest(),
            latency_ms=(time.perf_counter() - started) * 1000, subjects=subjects),
            role="consumer", signature=answer_parts[-1].data, parts=verified.parts,
            keeper=exchange.client)
        log.info("exchange.completed", provider_server=str(target.id),
                 latency_ms=round((time.perf_counter() - started) * 1000, 2))
        return verified

    def _body(self, request: HttpRequest) -> bytes:
        if request.body is None:
            raise errors.MessageTooLarge(
                f"request body exceeds {self._ss.limits.max_body_bytes} bytes")
        return request.body

    async def list_clients(self, request: HttpRequest) -> HttpResponse:
        """The `listClients` metaservice: members and subsystems from global configuration,
        XML by default, JSON when the client asks for it (X-Road's two forms)."""
        return await self._guard(self._list_clients, request, soap_faults=False)

    async def _list_clients(self, request: HttpRequest) -> HttpResponse:
        """Clients of one instance (`xRoadInstance`: this one or a federated one; another
        has none), or of every instance this server trusts, as X-Road lists them."""
        confs = self._ss.confs.all(self._ss.clock.now())
        instance = parse_qs(request.query).get("xRoadInstance", [None])[-1]
        if "application/json" in (request.header("Accept") or ""):
            return HttpResponse(200, (("Content-Type", JSON),),
                                list_clients_json(confs, instance))
        return HttpResponse(200, (("Content-Type", "text/xml; charset=UTF-8"),),
                            list_clients_xml(confs, instance))

    def health(self) -> dict[str, object]:
        """Readiness: routing needs a verified, unexpired global configuration."""
        try:
            conf, *federated = self._ss.confs.all(self._ss.clock.now())
            self._ss.audit_ready()
        except XRoadError as e:
            return {"status": "error", "server_id": str(self._ss.server_id),
                    **self._node(), "reason": str(e)}
        return {"status": "ok", "server_id": str(self._ss.server_id), **self._node(),
                "globalconf": {"version": conf.version,
                               "expires_at": conf.expires_at.isoformat()},
                "federated": {c.instance: {"version": c.version,
                                           "expires_at": c.expires_at.isoformat()}
                              for c in federated}}

    def _node(self) -> dict[str, str]:
        """Which node of a cluster answers (a load balancer's health check is per node)."""
        return {} if self._ss.node is None else {"node": self._ss.node}

    def _check_client(self, conf: GlobalConf, client: ClientId) -> None:
        if not conf.is_known_client(client):
            raise errors.InvalidClientIdentifier(f"{client} is not a registered client")
        own = conf.server(self._ss.server_id)
        if client not in own.clients:
            raise UnknownMember(f"{client} is not registered on security server {own.id}")

    def refuse(self, request: HttpRequest, error: XRoadError, *, soap_faults: bool
               ) -> HttpResponse:
        """The fault for a request refused before it could be read whole (a stalled body)."""
        fault = logged_fault(error, "ClientProxy", self._ss.fault_spelling)
        return fault_response(fault, soap_faults=soap_faults, accept=request.header("Accept"))

    async def _guard(self, handler: Callable[[HttpRequest], Awaitable[HttpResponse]],
                     request: HttpRequest, *, soap_faults: bool) -> HttpResponse:
        """Turn every failure into an X-Road fault with an id that is also in the log."""
        with structlog.contextvars.bound_contextvars(message_id=None, client=None, service=None):
            try:
                return await handler(request)
            except Exception as e:
                fault = logged_fault(e, "ClientProxy", self._ss.fault_spelling)
            return fault_response(fault, soap_faults=soap_faults,
                                  accept=request.header("Accept"))


async def _read_small(content: AsyncIterator[bytes], limit: int = 64 * 1024) -> bytes:
    """A fault from the peer: small JSON; anything longer is cut (and then malformed)."""
    data = b""
    async for chunk in content:
        data += chunk
        if len(data) > limit:
            break
    return data[:limit]


def _target(header: str | None) -> SecurityServerId | None:
    """`X-Road-Security-Server: INSTANCE/CLASS/MEMBER/SERVERCODE`, when the client pins one."""
    if not header:
        return None
    try:
        return SecurityServerId.parse(header)
    except errors.InvalidMessage as e:
        raise errors.InvalidSecurityServer(f"X-Road-Security-Server: {e}") from e


def fault_response(fault: Fault, *, soap_faults: bool, accept: str | None = None
                   ) -> HttpResponse:
    """A SOAP Fault, or a REST error in JSON, or in XML for a client that accepts only XML."""
    if soap_faults:
        return HttpResponse(500, (("Content-Type", "text/xml; charset=utf-8"),),
                            soap_fault_envelope(fault))
    wants_xml = accept is not None and "xml" in accept and "json" not in accept
    if wants_xml:
        return HttpResponse(fault.http_status, (("Content-Type", "application/xml"),
                                                ("X-Road-Error", fault.code)),
                            rest_error_xml(fault))
    return HttpResponse(fault.http_status, (("Content-Type", JSON), ("X-Road-Error", fault.code)),
                        rest_error_body(fault))
