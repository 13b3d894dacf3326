"""The fault table: one wire code per error class and origin, for SOAP and REST alike."""

import json

import pytest
from lxml import etree

from xroad import errors as e
from xroad.limits import Limits
from xroad.messages.faults import (
    Fault,
    FaultSpelling,
    fault_code,
    normalize_code,
    parse_rest_error,
    rest_error_body,
    soap_fault_envelope,
    to_fault,
)
from xroad.messages.xml import SOAP_ENV_NS, parse_untrusted

CLASSIC = FaultSpelling.CLASSIC
SNAKE = FaultSpelling.SNAKE

# error, code; the client is at fault for exactly the InvalidMessage family.
CLIENT_AT_FAULT = {
    "bad-request": (e.BadRequest, "BadRequest"),
    "invalid-soap": (e.InvalidSoap, "InvalidSoap"),
    "invalid-client-id": (e.InvalidClientIdentifier, "InvalidClientIdentifier"),
    "invalid-service-id": (e.InvalidServiceIdentifier, "InvalidServiceIdentifier"),
    "invalid-protocol-version": (e.InvalidProtocolVersion, "InvalidProtocolVersion"),
    "message-too-large": (e.MessageTooLarge, "InvalidMessage"),
    "invalid-message": (e.InvalidMessage, "InvalidMessage"),
}
SERVER_AT_FAULT = {
    "unknown-member": (e.UnknownMember, "UnknownMember"),
    "unknown-service": (e.UnknownService, "UnknownService"),
    "access-denied": (e.AccessDenied, "AccessDenied"),
    "outdated-globalconf": (e.OutdatedGlobalConf, "OutdatedGlobalConf"),
    "invalid-signature": (e.InvalidSignature, "InvalidSignatureValue"),
    "malformed-signature": (e.MalformedSignature, "MalformedSignature"),
    "certificate": (e.CertificateError, "CertValidation"),
    "ssl-auth": (e.SslAuthenticationFailed, "SslAuthenticationFailed"),
    "inconsistent-response": (e.InconsistentResponse, "InconsistentResponse"),
    "verification": (e.VerificationError, "InvalidSignatureValue"),
    "transport": (e.TransportError, "NetworkError"),
    "service-failed": (e.ServiceFailed, "ServiceFailed"),
    "logging-failed": (e.LoggingFailed, "LoggingFailed"),
    "internal": (e.InternalError, "InternalError"),
    "root": (e.XRoadError, "InternalError"),
}


@pytest.mark.parametrize(("err", "code"), CLIENT_AT_FAULT.values(), ids=CLIENT_AT_FAULT.keys())
def test_client_errors_on_client_proxy_are_client_faults(err, code):
    assert fault_code(err("x"), "ClientProxy", CLASSIC) == (f"Client.{code}", 400)


@pytest.mark.parametrize(("err", "code"), CLIENT_AT_FAULT.values(), ids=CLIENT_AT_FAULT.keys())
def test_client_errors_on_server_proxy_are_server_faults(err, code):
    assert fault_code(err("x"), "ServerProxy", CLASSIC) == (f"Server.ServerProxy.{code}", 500)


@pytest.mark.parametrize(("err", "code"), SERVER_AT_FAULT.values(), ids=SERVER_AT_FAULT.keys())
@pytest.mark.parametrize("origin", ["ClientProxy", "ServerProxy"])
def test_other_errors_are_server_faults_of_their_origin(err, code, origin):
    assert fault_code(err("x"), origin, CLASSIC) == (f"Server.{origin}.{code}", 500)


def test_unlisted_subclass_uses_nearest_listed_ancestor():
    class RegistryDown(e.TransportError):
        pass

    assert fault_code(RegistryDown("x"), "ServerProxy", CLASSIC) == (
        "Server.ServerProxy.NetworkError", 500)


@pytest.mark.parametrize(("err", "origin", "expected"), [
    pytest.param(e.AccessDenied("x"), "ServerProxy",
                 ("server.serverproxy.access_denied", 500), id="server-proxy"),
    pytest.param(e.TransportError("x"), "ClientProxy",
                 ("server.clientproxy.network_error", 500), id="client-proxy"),
    pytest.param(e.InvalidSignature("x"), "ServerProxy",
                 ("server.serverproxy.invalid_signature_value", 500), id="three-words"),
])
def test_snake_spelling_matches_xroad_7_8(err, origin, expected):
    assert fault_code(err, origin, SNAKE) == expected


def test_snake_spelling_of_client_fault():
    # No origin segment, so unaffected by the origin-splitting bug above.
    assert fault_code(e.InvalidClientIdentifier("x"), "ClientProxy", SNAKE) == (
        "client.invalid_client_identifier", 400)


@pytest.mark.parametrize(("err", "origin"), [
    *[(err("x"), "ClientProxy") for err, _ in CLIENT_AT_FAULT.values()],
    *[(err("x"), origin) for err, _ in SERVER_AT_FAULT.values()
      for origin in ("ClientProxy", "ServerProxy")],
])
def test_both_spellings_normalize_to_the_same_key(err, origin):
    classic, status_classic = fault_code(err, origin, CLASSIC)
    snake, status_snake = fault_code(err, origin, SNAKE)
    assert normalize_code(classic) == normalize_code(snake)
    assert status_classic == status_snake


@pytest.mark.parametrize(("a", "b", "same"), [
    ("Server.ServerProxy.AccessDenied", "server.serverproxy.access_denied", True),
    ("Server.ServerProxy.AccessDenied", "SERVER.SERVERPROXY.ACCESSDENIED", True),
    ("Server.ServerProxy.AccessDenied", "Server.ClientProxy.AccessDenied", False),
    ("Client.InvalidSoap", "Server.ServerProxy.InvalidSoap", False),
])
def test_normalize_code(a, b, same):
    assert (normalize_code(a) == normalize_code(b)) is same


@pytest.mark.parametrize(("peer_code", "status"), [
    ("Server.ServerProxy.AccessDenied", 500),
    ("Client.InvalidSoap", 400),
    ("Server.ServerProxy.SomethingNew", 500),
])
@pytest.mark.parametrize("origin", ["ClientProxy", "ServerProxy"])
def test_peer_fault_passes_through_with_its_code_and_id(peer_code, status, origin):
    fault = to_fault(e.PeerFault(peer_code, "denied", "peer-id-1"), origin, CLASSIC, "our-id")
    assert fault == Fault(code=peer_code, message="denied", fault_id="peer-id-1",
                          http_status=status)


def test_peer_fault_in_snake_spelling_keeps_meaning_and_id():
    fault = to_fault(e.PeerFault("Server.ServerProxy.AccessDenied", "denied", "peer-id-1"),
                     "ClientProxy", SNAKE, "our-id")
    assert normalize_code(fault.code) == normalize_code("Server.ServerProxy.AccessDenied")
    assert fault.code == fault.code.lower()
    assert (fault.fault_id, fault.http_status) == ("peer-id-1", 500)


def test_to_fault_uses_our_id_and_the_table():
    fault = to_fault(e.AccessDenied("no right"), "ServerProxy", CLASSIC, "fid")
    assert fault == Fault("Server.ServerProxy.AccessDenied", "no right", "fid", 500)


def test_to_fault_without_message_uses_class_name():
    assert to_fault(e.UnknownService(), "ServerProxy", CLASSIC, "fid").message == "UnknownService"


def test_rest_error_body_shape():
    fault = Fault("Server.ServerProxy.AccessDenied", "Нет доступа", "fid-1", 500)
    doc = json.loads(rest_error_body(fault))
    assert doc == {"type": "Server.ServerProxy.AccessDenied", "message": "Нет доступа",
                   "detail": "fid-1"}


def test_rest_error_round_trips_to_peer_fault():
    fault = Fault("Client.BadRequest", "bad path", "fid-2", 400)
    peer = parse_rest_error(rest_error_body(fault))
    assert (peer.code, str(peer), peer.fault_id) == ("Client.BadRequest", "bad path", "fid-2")


@pytest.mark.parametrize("body", [
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"[]", id="array"),
    pytest.param(b'{"type": "X"}', id="missing-fields"),
])
def test_malformed_peer_error_becomes_internal_error(body):
    peer = parse_rest_error(body)
    assert peer.code == "Server.ServerProxy.InternalError"
    assert peer.fault_id == ""


def test_soap_fault_envelope_parses_back():
    fault = Fault("Server.ServerProxy.AccessDenied", "Нет доступа", "fid-3", 500)
    root = parse_untrusted(soap_fault_envelope(fault), Limits())

    assert root.tag == f"{{{SOAP_ENV_NS}}}Envelope"
    el = root.find(f"{{{SOAP_ENV_NS}}}Body/{{{SOAP_ENV_NS}}}Fault")
    assert el is not None
    assert [child.tag for child in el] == ["faultcode", "faultstring", "faultactor", "detail"]
    assert el.findtext("faultcode") == "Server.ServerProxy.AccessDenied"
    assert el.findtext("faultstring") == "Нет доступа"
    assert el.findtext("faultactor") == ""
    assert el.findtext("detail/faultDetail") == "fid-3"


def test_soap_fault_envelope_escapes_markup_in_message():
    fault = Fault("Client.InvalidSoap", "<b>&amp;</b>", "fid", 400)
    root = parse_untrusted(soap_fault_envelope(fault), Limits())
    assert etree.QName(root).localname == "Envelope"
    assert root.findtext(f".//{{{SOAP_ENV_NS}}}Fault/faultstring") == "<b>&amp;</b>"
