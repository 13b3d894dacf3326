"""The one table that says how each `XRoadError` looks on the wire (SOAP and REST alike)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from lxml import etree

from xroad import errors as e
from xroad.messages import untrusted_json as uj
from xroad.messages.xml import SOAP_ENV_NS

Origin = Literal["ClientProxy", "ServerProxy"]

# code, is it the client's fault when raised by the client proxy?
FAULTS: Final[Mapping[type[e.XRoadError], tuple[str, bool]]] = {
    e.BadRequest: ("BadRequest", True),
    e.DuplicateHeaderField: ("DuplicateHeaderField", True),
    e.MissingHeaderField: ("MissingHeaderField", True),
    e.InvalidBody: ("InvalidBody", True),
    e.WrapperNotServiceCode: ("InconsistentHeaders", True),  # X-Road's code for this case
    e.InvalidSoap: ("InvalidSoap", True),
    e.InvalidClientIdentifier: ("InvalidClientIdentifier", True),
    e.InvalidServiceIdentifier: ("InvalidServiceIdentifier", True),
    e.InvalidProtocolVersion: ("InvalidProtocolVersion", True),
    e.MessageTooLarge: ("InvalidMessage", True),
    e.InvalidSecurityServer: ("InvalidSecurityServer", True),
    e.InvalidMessage: ("InvalidMessage", True),
    e.UnknownMember: ("UnknownMember", False),
    e.UnknownService: ("UnknownService", False),
    e.AccessDenied: ("AccessDenied", False),
    e.OutdatedGlobalConf: ("OutdatedGlobalConf", False),
    e.InvalidSignature: ("InvalidSignatureValue", False),
    e.MalformedSignature: ("MalformedSignature", False),
    e.CertificateError: ("CertValidation", False),
    e.SslAuthenticationFailed: ("SslAuthenticationFailed", False),
    e.InconsistentHeaders: ("InconsistentHeaders", False),
    e.InconsistentResponse: ("InconsistentResponse", False),
    e.ReplayedMessage: ("ReplayedMessage", False),
    e.ClockSkew: ("ClockSkew", False),
    e.DecryptionFailed: ("DecryptionFailed", False),
    e.VerificationError: ("InvalidSignatureValue", False),
    e.TransportError: ("NetworkError", False),
    e.ServiceFailed: ("ServiceFailed", False),
    e.LoggingFailed: ("LoggingFailed", False),
    e.TimestampingFailed: ("TimestampingFailed", False),
    e.InternalError: ("InternalError", False),
    e.XRoadError: ("InternalError", False),
}


class FaultSpelling(StrEnum):
    """X-Road ≤7.7: `Server.ServerProxy.AccessDenied`; 7.8: `server.serverproxy.access_denied`."""

    CLASSIC = "classic"
    SNAKE = "snake"


@dataclass(frozen=True, slots=True)
class Fault:
    code: str  # e.g. "Server.ServerProxy.AccessDenied", in the configured spelling
    message: str
    fault_id: str  # UUID, also written to the log
    http_status: int


_ORIGINS: Final = frozenset({"Client", "Server", "ClientProxy", "ServerProxy"})


def _snake(code: str) -> str:
    """7.8 spelling: origins lower-cased whole, codes snake_case (`IOError` -> `io_error`)."""
    def one(part: str) -> str:
        if part in _ORIGINS:
            return part.lower()
        split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", part)
        return split.lower()

    return ".".join(one(p) for p in code.split("."))


def fault_code(err: e.XRoadError, origin: Origin, spelling: FaultSpelling) -> tuple[str, int]:
    """The wire code and REST status for `err` raised on the `origin` side."""
    code, client_at_fault = next(FAULTS[c] for c in type(err).__mro__ if c in FAULTS)
    if client_at_fault and origin == "ClientProxy":
        wire, status = f"Client.{code}", 400
    else:
        wire, status = f"Server.{origin}.{code}", 500
    return (_snake(wire) if spelling is FaultSpelling.SNAKE else wire), status


def to_fault(err: e.XRoadError, origin: Origin, spelling: FaultSpelling, fault_id: str) -> Fault:
    if isinstance(err, e.PeerFault):  # keep the peer's code and id: one fault, one id
        code = _snake(err.code) if spelling is FaultSpelling.SNAKE else err.code
        status = 400 if normalize_code(code).startswith("client.") else 500
        return Fault(code=code, message=str(err), fault_id=err.fault_id, http_status=status)
    code, status = fault_code(err, origin, spelling)
    return Fault(code=code, message=str(err) or type(err).__name__, fault_id=fault_id,
                 http_status=status)


def normalize_code(code: str) -> str:
    """A key equal for both spellings of one code (`AccessDenied` and `access_denied`)."""
    return code.replace("_", "").lower()


def parse_rest_error(body: bytes) -> e.PeerFault:
    """Read a `{type, message, detail}` error sent by a peer security server."""
    try:
        doc = uj.obj(uj.loads(body))
        return e.PeerFault(uj.text(doc, "type"), uj.text(doc, "message"), uj.text(doc, "detail"))
    except (KeyError, TypeError, ValueError):
        return e.PeerFault("Server.ServerProxy.InternalError", "malformed fault from peer", "")


def rest_error_xml(fault: Fault) -> bytes:
    """The XML form of a REST error, for clients that accept XML and not JSON."""
    root = etree.Element("error")
    for name, value in (("type", fault.code), ("message", fault.message),
                        ("detail", fault.fault_id)):
        etree.SubElement(root, name).text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def rest_error_body(fault: Fault) -> bytes:
    return json.dumps({"type": fault.code, "message": fault.message, "detail": fault.fault_id},
                      ensure_ascii=False).encode()


def soap_fault_envelope(fault: Fault) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV_NS})
    body = etree.SubElement(env, f"{{{SOAP_ENV_NS}}}Body")
    el = etree.SubElement(body, f"{{{SOAP_ENV_NS}}}Fault")
    etree.SubElement(el, "faultcode").text = fault.code
    etree.SubElement(el, "faultstring").text = fault.message
    etree.SubElement(el, "faultactor").text = ""
    detail = etree.SubElement(el, "detail")
    etree.SubElement(detail, "faultDetail").text = fault.fault_id
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
