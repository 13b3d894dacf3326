"""Server proxy: accepts signed messages from other security servers over mutual TLS, checks
who sent them and whether the client may call the service, calls the provider's information
system, and returns its answer signed by the provider member.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from urllib.parse import parse_qs

import structlog
from cryptography.hazmat.primitives import serialization

from xroad import errors
from xroad.access import check_access, rights_of
from xroad.encryption import CONTENT_TYPE as ENCRYPTED
from xroad.encryption import encrypt
from xroad.errors import SslAuthenticationFailed, XRoadError
from xroad.globalconf.model import GlobalConf, SecurityServerInfo
from xroad.identifiers import ClientId, GlobalGroupId, ServiceId
from xroad.messages import mime, multipart, rest, soap
from xroad.messages.faults import Fault, rest_error_body, to_fault
from xroad.messages.multipart import Part
from xroad.proxy.context import (
    FAULT_CONTENT_TYPE,
    INNER_CONTENT_TYPE,
    SecurityServer,
    encryption_context,
    logged_fault,
)
from xroad.proxy.exchange import Exchange, HttpResponse
from xroad.proxy.http import ServiceClient
from xroad.proxy.metaservices import (
    ALLOWED_METHODS,
    PROVIDER_METASERVICES,
    rest_methods,
    soap_methods,
)
from xroad.proxy.peer import authenticate_peer
from xroad.proxy.sealed import open_parts
from xroad.proxy.service_descriptions import (
    GET_OPENAPI,
    GET_WSDL,
    mask_openapi,
    mask_wsdl,
    requested_service,
    with_wsdl_attachment,
    wsdl_answer_envelope,
)
from xroad.replay import check_signing_time
from xroad.serverconf import ServerConf, ServiceType
from xroad.signing.message import Direction, VerifiedMessage, digest, sign_message, verify_message

log = structlog.get_logger(__name__)

GlobalGroups = Mapping[GlobalGroupId, frozenset[ClientId]]


class ServerProxy:
    def __init__(self, server: SecurityServer, services: ServiceClient) -> None:
        self._ss = server
        self._services = services

    async def handle(self, peer_cert_der: bytes | None, headers: dict[str, str],
                     body: AsyncIterator[bytes]) -> HttpResponse:
        """`headers` are lower-cased HTTP headers of the request from the peer security server."""
        with structlog.contextvars.bound_contextvars(message_id=None, client=None, service=None,
                                                     request_id=headers.get("x-road-request-id")):
            started = time.perf_counter()
            try:
                return await self._handle(peer_cert_der, headers, body, started)
            except Exception as e:
                return _fault_response(logged_fault(e, "ServerProxy", self._ss.fault_spelling))

    async def _handle(self, peer_cert_der: bytes | None, headers: dict[str, str],
                      body: AsyncIterator[bytes], started: float) -> HttpResponse:
        ss = self._ss
        at = ss.clock.now()
        confs = ss.confs.all(at)  # this instance's and the federated ones
        authenticated = authenticate_peer(peer_cert_der, confs, at)
        peer = authenticated.server
        ss.audit_ready()
        request_id = headers.get("x-road-request-id", "")
        if not request_id:
            raise errors.InvalidMessage("X-Road-Request-Id is missing")
        if headers.get("content-type") != ENCRYPTED:
            raise errors.DecryptionFailed("messages between security servers must be encrypted")
        parts = await open_parts(body, ss.encryption_keys,
                                 headers.get(INNER_CONTENT_TYPE.lower(), ""),
                                 encryption_context("request", request_id, peer.id,
                                                    ss.server_id), ss.limits.max_body_bytes)
        kind = headers.get("x-road-message-type", "")
        exchange = _claimed_exchange(kind, parts, request_id, ss)
        structlog.contextvars.bind_contextvars(
            message_id=exchange.message_id, client=str(exchange.client),
            service=str(exchange.service))
        subjects: tuple[str, ...] = ()
        try:
            # The client's signature by the rules of its own instance (its CAs, OCSP freshness).
            signer_conf = ss.confs.current(exchange.client.instance, at)
            verified = verify_message(
                parts, direction=Direction.REQUEST, request_id=request_id,
                expected_signer=str(exchange.client.member),
                approved_cas=signer_conf.approved_cas, at=at,
                revocation=ss.revocation(signer_conf))
            _check_claims(exchange, verified, peer)
            check_signing_time(verified.manifest.signed_at, at, ss.max_clock_skew)
            subjects = ss.subjects_of(verified.parts[0].data)
            await ss.remember(exchange.client, exchange.message_id, at)
            serverconf = ss.serverconf.current()
            if not serverconf.hosts(exchange.service.provider):
                raise errors.UnknownService(f"{exchange.service.provider} is not hosted here")
            metaservice = exchange.service.service_code in PROVIDER_METASERVICES
            groups = _global_groups(confs)
            if not metaservice:  # metaservices are open to every client, as in X-Road
                description = serverconf.service(exchange.service)
                method, path = _endpoint(kind, verified)
                check_access(exchange.client, exchange.service, serverconf.access_rights,
                             method=method, path=path,
                             local_groups=serverconf.local_group_members(),
                             global_groups=groups)
            await ss.record(exchange.record(
                str(ss.server_id), "request", at, outcome="ok",
                message_digest=digest(verified.parts[0].data),
                signature_digest=verified.signature_digest,
                signer_cert_sha256=hashlib.sha256(verified.signer_cert.public_bytes(
                    serialization.Encoding.DER)).hexdigest(), subjects=subjects),
                role="provider", signature=parts[-1].data, parts=verified.parts,
                keeper=exchange.service.provider)
            if metaservice:
                response_parts, request_hash = await self._metaservice(exchange, kind, verified,
                                                                 serverconf, groups)
            elif description.type is ServiceType.REST:
                response_parts = await self._call_rest(verified, description.url,
                                                       description.timeout_s)
                request_hash = None
            else:
                response_parts, request_hash = await self._call_soap(
                    verified, description.url, description.timeout_s)
            signer = ss.signer_for(exchange.service.provider)
            signature = sign_message(
                response_parts, direction=Direction.RESPONSE, request_id=request_id,
                message_id=exchange.message_id, client=str(exchange.client),
                service=str(exchange.service), signer=signer, chain=signer.chain,
                at=ss.clock.now(), ocsp=await ss.ocsp.response_for(signer),
                request_hash=request_hash)
            inner_type, out = multipart.encode_stream([*response_parts, signature])
            sealed = b"".join(encrypt(out, peer.encryption_key(
                                          authenticated.conf.encryption_suite),
                                      encryption_context("response", request_id, ss.server_id,
                                                         peer.id)))
            await ss.record(exchange.record(
                str(ss.server_id), "response", ss.clock.now(), outcome="ok",
                message_digest=digest(response_parts[0].data),
                signature_digest=digest(signature.data),
                signer_cert_sha256=hashlib.sha256(signer.certificate.public_bytes(
                    serialization.Encoding.DER)).hexdigest(),
                latency_ms=(time.perf_counter() - started) * 1000, subjects=subjects),
                role="provider", signature=signature.data, parts=response_parts,
                keeper=exchange.service.provider)
        except XRoadError as e:
            fault = to_fault(e, "ServerProxy", ss.fault_spelling, "")
            await ss.record(exchange.record(
                str(ss.server_id), "response", ss.clock.now(), outcome=fault.code,
                message_digest=digest(parts[0].data),
                latency_ms=(time.perf_counter() - started) * 1000, subjects=subjects),
                role="provider")
            raise
        log.info("exchange.served", client_server=str(peer.id))
        return HttpResponse(200, (("Content-Type", ENCRYPTED), (INNER_CONTENT_TYPE, inner_type)),
                            sealed)

    async def _metaservice(self, exchange: Exchange, kind: str, verified: VerifiedMessage,
                           serverconf: ServerConf, global_groups: GlobalGroups
                           ) -> tuple[list[Part], str | None]:
        """Metaservices, answered by this server from its configuration (and, for service
        descriptions, the document the provider publishes)."""
        code = exchange.service.service_code
        local = serverconf.local_group_members()
        request = verified.parts[0]
        limits = self._ss.limits
        if kind == "REST":
            if code == GET_OPENAPI:
                body = await self._description(exchange, serverconf, global_groups, _query_service(
                    rest.RestRequest.decode(request.data).query), None)
                body = mask_openapi(body)
            else:
                body = rest_methods(serverconf, exchange.service.provider, exchange.client,
                                    allowed_only=code == ALLOWED_METHODS, local=local,
                                    global_groups=global_groups)
            response = rest.RestResponse(200, (("Content-Type", "application/json"),),
                                         rest.request_hash(request.data, b""))
            return [Part(rest.RESPONSE_CONTENT_TYPE, response.encode()),
                    Part(rest.BODY_CONTENT_TYPE, body)], None
        soap_bytes = mime.soap_of(request.content_type, request.data)[0]
        request_hash = soap.soap_request_hash(soap_bytes)
        if code == GET_WSDL:
            wanted, version = requested_service(soap_bytes, limits)
            wsdl = mask_wsdl(await self._description(exchange, serverconf, global_groups, wanted,
                                                     version), limits)
            answer = soap.with_request_hash(
                wsdl_answer_envelope(soap_bytes, wanted, version, limits), request_hash, limits)
            content_type, body = with_wsdl_attachment(answer, wsdl)
            return [Part(content_type, body)], request_hash
        answer = soap_methods(soap_bytes, limits, serverconf, exchange.service.provider,
                              exchange.client, allowed_only=code == ALLOWED_METHODS,
                              local=local, global_groups=global_groups)
        return ([Part("text/xml; charset=UTF-8",
                      soap.with_request_hash(answer, request_hash, limits))], request_hash)

    async def _description(self, exchange: Exchange, serverconf: ServerConf,
                           global_groups: GlobalGroups, service_code: str, version: str | None
                           ) -> bytes:
        """The WSDL or OpenAPI document of one of the provider's services, for a client that
        may call that service (a description is not public)."""
        service = ServiceId(exchange.service.provider, service_code, version)
        description = serverconf.service(service)
        if not rights_of(exchange.client, service, serverconf.access_rights,
                         local_groups=serverconf.local_group_members(),
                         global_groups=global_groups):
            raise errors.AccessDenied(f"{exchange.client} may not call {service}, nor read "
                                      "its description")
        if description.description_url is None:
            raise errors.UnknownService(f"{service} has no published description")
        reply = await self._services.request("GET", description.description_url, [], b"",
                                             description.timeout_s,
                                             self._ss.limits.max_body_bytes)
        if reply.status != 200:
            raise errors.ServiceFailed(f"the description of {service} answered {reply.status}")
        return reply.body

    async def _call_rest(self, verified: VerifiedMessage, base_url: str, timeout_s: float
                         ) -> list[Part]:
        header_part = verified.parts[0].data
        request = rest.RestRequest.decode(header_part)
        body = verified.parts[1].data if len(verified.parts) > 1 else b""
        url = base_url.rstrip("/") + request.path + (f"?{request.query}" if request.query else "")
        headers = [*request.headers,
                   ("X-Road-Client", str(request.client)), ("X-Road-Id", request.message_id)]
        if request.user_id:
            headers.append(("X-Road-UserId", request.user_id))
        if request.issue:
            headers.append(("X-Road-Issue", request.issue))
        if request.represented_party:
            headers.append(("X-Road-Represented-Party", request.represented_party))
        reply = await self._services.request(request.method, url, headers, body, timeout_s,
                                             self._ss.limits.max_body_bytes)
        response = rest.RestResponse(reply.status, rest.filter_headers(reply.headers),
                                     rest.request_hash(header_part, body))
        parts = [Part(rest.RESPONSE_CONTENT_TYPE, response.encode())]
        if reply.body:
            parts.append(Part(rest.BODY_CONTENT_TYPE, reply.body))
        return parts

    async def _call_soap(self, verified: VerifiedMessage, url: str, timeout_s: float
                         ) -> tuple[list[Part], str]:
        """Forward the message as received (attachments included); put our requestHash, over
        the request's SOAP part, into the answer's SOAP part, leaving its attachments as sent."""
        request = verified.parts[0]
        limits = self._ss.limits
        reply = await self._services.request(
            "POST", url, [("Content-Type", request.content_type)], request.data, timeout_s,
            limits.max_body_bytes)
        content_type = {k.lower(): v for k, v in reply.headers}.get("content-type", "")
        if not (content_type.lower().startswith("text/xml")
                or mime.is_multipart_related(content_type)):
            raise errors.ServiceFailed(f"service answered {reply.status} with {content_type!r}")
        request_hash = soap.soap_request_hash(mime.soap_of(request.content_type,
                                                           request.data)[0])
        answer_bytes, answer_type = mime.soap_of(content_type, reply.body)
        answer = soap.parse_soap(answer_bytes, answer_type, limits)
        if answer.is_fault:
            return [Part(content_type, reply.body)], request_hash
        hashed = soap.with_request_hash(answer_bytes, request_hash, limits)
        data = (mime.replace_soap_part(content_type, reply.body, hashed)
                if mime.is_multipart_related(content_type) else hashed)
        return [Part(content_type, data)], request_hash


def _claimed_exchange(kind: str, parts: list[Part], request_id: str, ss: SecurityServer
                      ) -> Exchange:
    """Identifiers as the (not yet verified) message claims them; verification follows."""
    if not parts:
        raise errors.InvalidMessage("message has no parts")
    if kind == "REST":
        req = rest.RestRequest.decode(parts[0].data)
        return Exchange(request_id, req.message_id, req.client, req.service, req.user_id,
                        req.issue, req.represented_party)
    if kind == "SOAP":
        soap_bytes, soap_type = mime.soap_of(parts[0].content_type, parts[0].data)
        h = soap.parse_soap_request(soap_bytes, soap_type, ss.limits)
        return Exchange(request_id, h.message_id, h.client, h.service, h.user_id, h.issue,
                        h.represented_party)
    raise errors.InvalidMessage(f"unknown message type {kind!r}")


def _check_claims(exchange: Exchange, verified: VerifiedMessage,
                  peer: SecurityServerInfo) -> None:
    """The signed identifiers are the message's, and the peer hosts the signing client."""
    m = verified.manifest
    if m.client != str(exchange.client) or m.service != str(exchange.service) or (
            m.message_id != exchange.message_id):
        raise errors.InvalidSignature("signed identifiers differ from the message")
    if exchange.client not in peer.clients or exchange.client.instance != peer.id.owner.instance:
        raise SslAuthenticationFailed(
            f"{exchange.client} is not a client of security server {peer.id}")


def _global_groups(confs: Sequence[GlobalConf]) -> GlobalGroups:
    """Members of every global group these configurations define, each group from the
    configuration of its own instance (a right granted to `GLOBALGROUP:MN/x` on a server of
    another instance means MN's group, as MN's central server defines it)."""
    groups: dict[GlobalGroupId, frozenset[ClientId]] = {}
    for conf in confs:
        groups |= {g: m for g, m in conf.global_group_members().items()
                   if g.instance == conf.instance}
    return groups


def _endpoint(kind: str, verified: VerifiedMessage) -> tuple[str | None, str | None]:
    """Method and path for endpoint-level access rights (REST only)."""
    if kind != "REST":
        return None, None
    request = rest.RestRequest.decode(verified.parts[0].data)
    return request.method, request.path or "/"


def _query_service(query: str) -> str:
    codes = parse_qs(query).get("serviceCode", [])
    if len(codes) != 1 or not codes[0]:
        raise errors.BadRequest("getOpenAPI needs exactly one serviceCode query parameter")
    return codes[0]


def _fault_response(fault: Fault) -> HttpResponse:
    return HttpResponse(500, (("Content-Type", FAULT_CONTENT_TYPE), ("X-Road-Error", fault.code)),
                        rest_error_body(fault))


