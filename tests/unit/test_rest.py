"""REST r1: the service path, header filtering, header parts and the request hash."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xroad.errors import BadRequest, InvalidMessage, InvalidServiceIdentifier
from xroad.identifiers import ClientId, ServiceId
from xroad.messages.rest import (
    RestRequest,
    RestResponse,
    filter_headers,
    keep_header,
    parse_r1_path,
    request_hash,
)

SERVICE = ServiceId.parse("MN/GOV/GASR/civil/getPerson")


@pytest.mark.parametrize(("path", "rest"), [
    pytest.param("/r1/MN/GOV/GASR/civil/getPerson", "", id="no-rest"),
    pytest.param("/r1/MN/GOV/GASR/civil/getPerson/", "/", id="trailing-slash"),
    pytest.param("/r1/MN/GOV/GASR/civil/getPerson/persons/42", "/persons/42", id="rest"),
    pytest.param("/r1/MN/GOV/GASR/civil/getPerson/persons/%D0%91%D0%B0%D1%82",
                 "/persons/%D0%91%D0%B0%D1%82", id="cyrillic-stays-encoded"),
    pytest.param("/r1/MN/GOV/GASR/civil/getPerson/a%2Fb", "/a%2Fb", id="encoded-slash-in-rest"),
])
def test_parse_r1_path(path, rest):
    assert parse_r1_path(path) == (SERVICE, rest)


def test_identifier_segments_are_percent_decoded():
    service, _ = parse_r1_path("/r1/MN/GOV/GASR/civil/get%50erson")
    assert service == SERVICE


BAD_PATHS = {
    "missing-subsystem": ("/r1/MN/GOV/GASR/getPerson", BadRequest),
    "wrong-version": ("/r2/MN/GOV/GASR/civil/getPerson", BadRequest),
    "no-version": ("/MN/GOV/GASR/civil/getPerson/x", BadRequest),
    "no-leading-slash": ("r1/MN/GOV/GASR/civil/getPerson", BadRequest),
    "empty": ("", BadRequest),
    "invalid-utf8": ("/r1/MN/GOV/GA%FFSR/civil/getPerson", BadRequest),
    "encoded-slash-in-member": ("/r1/MN/GOV/GA%2FSR/civil/getPerson", InvalidServiceIdentifier),
    "encoded-slash-in-code": ("/r1/MN/GOV/GASR/civil/get%2FPerson", InvalidServiceIdentifier),
    "encoded-space": ("/r1/MN/GOV/GA%20SR/civil/getPerson", InvalidServiceIdentifier),
    "empty-segment": ("/r1/MN//GASR/civil/getPerson", InvalidServiceIdentifier),
    "cyrillic-member": ("/r1/MN/GOV/%D0%91/civil/getPerson", InvalidServiceIdentifier),
}


@pytest.mark.parametrize(("path", "error"), BAD_PATHS.values(), ids=BAD_PATHS.keys())
def test_bad_r1_path(path, error):
    with pytest.raises(error):
        parse_r1_path(path)


def test_encoded_slash_is_decoded_into_its_segment_not_split():
    # Were "%2F" decoded before splitting, GA/SR would shift every later segment by one.
    with pytest.raises(InvalidServiceIdentifier, match="GA/SR"):
        parse_r1_path("/r1/MN/GOV/GA%2FSR/civil/getPerson")


DROPPED = ["Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
           "Trailer", "Transfer-Encoding", "Upgrade", "Host", "User-Agent", "Server",
           "Content-Length", "Expect", "Date", "X-Road-Client", "x-road-id",
           "X-ROAD-REQUEST-HASH", "X-Road-Signature"]
KEPT = ["Content-Type", "Accept", "Accept-Language", "Authorization", "X-Request-Id",
        "X-Roadmap", "Cache-Control"]


@pytest.mark.parametrize("name", DROPPED)
def test_dropped_header(name):
    assert not keep_header(name)
    assert not keep_header(name.upper())


@pytest.mark.parametrize("name", KEPT)
def test_kept_header(name):
    assert keep_header(name)


def test_filter_headers_keeps_order_and_duplicates():
    headers = [("Host", "a"), ("Accept", "1"), ("X-Road-Client", "MN/GOV/X"), ("Accept", "2"),
               ("Connection", "close"), ("Content-Type", "application/json")]
    assert filter_headers(headers) == (("Accept", "1"), ("Accept", "2"),
                                       ("Content-Type", "application/json"))


def test_headers_named_in_connection_are_dropped():
    headers = [("Connection", "close, X-Internal-Token"), ("X-Internal-Token", "secret"),
               ("Accept", "*/*")]
    assert filter_headers(headers) == (("Accept", "*/*"),)


REQUEST = RestRequest(
    method="GET", service=ServiceId.parse("MN/GOV/GASR/civil/getPerson/v1"),
    path="/persons/%D0%91", query="a=1&b=%20", client=ClientId.parse("MN/GOV/ALAMGAC/land"),
    message_id="msg-1", user_id="MN123", issue=None, represented_party="COM/1",
    headers=(("Accept", "application/json"), ("Accept-Language", "mn-Cyrl, ru;q=0.5")),
)


def test_rest_request_round_trip():
    assert RestRequest.decode(REQUEST.encode()) == REQUEST


def test_rest_request_encoding_is_deterministic_json():
    doc = json.loads(REQUEST.encode())
    assert doc["service"] == "MN/GOV/GASR/civil/getPerson/v1"
    assert doc["client"] == "MN/GOV/ALAMGAC/land"
    assert doc["headers"] == [["Accept", "application/json"],
                              ["Accept-Language", "mn-Cyrl, ru;q=0.5"]]
    assert REQUEST.encode() == REQUEST.encode()


text = st.text(max_size=30)
ident = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'()+,-.=?",
                min_size=1, max_size=10)


@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
       service=st.builds(ServiceId, st.builds(ClientId, ident, ident, ident, ident), ident,
                         st.none() | ident),
       client=st.builds(ClientId, ident, ident, ident, st.none() | ident),
       path=text, query=text, message_id=text, user_id=st.none() | text,
       issue=st.none() | text, party=st.none() | text,
       headers=st.lists(st.tuples(text, text), max_size=4).map(tuple))
def test_any_rest_request_round_trips(method, service, client, path, query, message_id, user_id,
                                      issue, party, headers):
    request = RestRequest(method, service, path, query, client, message_id, user_id, issue,
                          party, headers)
    assert RestRequest.decode(request.encode()) == request


@given(status=st.integers(100, 599), headers=st.lists(st.tuples(text, text), max_size=4)
       .map(tuple), hash_=text)
def test_any_rest_response_round_trips(status, headers, hash_):
    response = RestResponse(status, headers, hash_)
    assert RestResponse.decode(response.encode()) == response


@pytest.mark.parametrize("data", [
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"[]", id="array"),
    pytest.param(b"{}", id="empty-object"),
    pytest.param(REQUEST.encode().replace(b"MN/GOV/ALAMGAC/land", b"MN/GOV"), id="bad-client"),
    pytest.param(REQUEST.encode().replace(b"getPerson/v1", b"get Person"), id="bad-service"),
    pytest.param(REQUEST.encode().replace(b'"headers":[', b'"headers":[1,'), id="bad-header"),
])
def test_malformed_rest_request(data):
    with pytest.raises(InvalidMessage):
        RestRequest.decode(data)


@pytest.mark.parametrize("data", [
    pytest.param(b"{}", id="empty-object"),
    pytest.param(b'{"status":"x","headers":[],"request_hash":"h"}', id="bad-status"),
    pytest.param(b'{"status":200,"headers":[["a"]],"request_hash":"h"}', id="bad-header"),
])
def test_malformed_rest_response(data):
    with pytest.raises(InvalidMessage):
        RestResponse.decode(data)


HEADER_PART = REQUEST.encode()
BODY = b'{"register_number": "\xd0\x91\xd0\x90"}'


def _flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]


@pytest.mark.parametrize(("header_part", "body"), [
    pytest.param(_flip(HEADER_PART, 0), BODY, id="header-first-byte"),
    pytest.param(_flip(HEADER_PART, len(HEADER_PART) - 1), BODY, id="header-last-byte"),
    pytest.param(HEADER_PART, _flip(BODY, 5), id="body-byte"),
    pytest.param(HEADER_PART, BODY + b" ", id="body-extended"),
    pytest.param(HEADER_PART + BODY[:1], BODY[1:], id="boundary-moved"),
    pytest.param(BODY, HEADER_PART, id="swapped"),
])
def test_request_hash_changes_with_any_byte(header_part, body):
    assert request_hash(header_part, body) != request_hash(HEADER_PART, BODY)


def test_request_hash_is_stable_base64_sha512():
    value = request_hash(HEADER_PART, BODY)
    assert value == request_hash(HEADER_PART, BODY)
    assert len(value) == 88  # base64 of 64 bytes
