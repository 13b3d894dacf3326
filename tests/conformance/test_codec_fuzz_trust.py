"""Trust codecs (global configuration, signatures, encryption) and escapes that byte
mutations do not reach: only their own `XRoadError` on arbitrary input (issue 5)."""

import base64
import json
from datetime import UTC, datetime
from typing import Any, Final

import pytest
from cryptography.hazmat.primitives import serialization
from fuzzing import (
    DEMO,
    FUZZ,
    GASR,
    JSON_TOKENS,
    REST_DOC,
    SOAP_CT,
    mutated,
    refused_only,
    variants,
)
from hypothesis import given
from hypothesis import strategies as st

from xroad import errors
from xroad.encryption import CHUNK_SIZE, Decryptor, Suite, encrypt, key_id, keypair_from_seed
from xroad.globalconf import codec
from xroad.globalconf.model import GlobalConf, MemberInfo, SecurityServerInfo
from xroad.identifiers import ClientId, SecurityServerId
from xroad.messages.faults import parse_rest_error
from xroad.messages.multipart import Part
from xroad.messages.rest import RestRequest, RestResponse
from xroad.signing.cms import sign_detached, verify_detached
from xroad.signing.message import (
    SIGNATURE_CONTENT_TYPE,
    Direction,
    Manifest,
    UnsafeNoRevocationCheck,
    sign_message,
    verify_message,
)

# -- global configuration ------------------------------------------------------------------

@pytest.fixture(scope="module")
def conf_content(ca, at) -> bytes:
    gasr, portal = ClientId.parse(GASR), ClientId.parse("MN/GOV/EMONGOLIA")
    conf = GlobalConf(
        instance="MN", version=3, generated_at=at, expires_at=at.replace(hour=13),
        member_classes=("GOV", "COM"),
        members=(MemberInfo(gasr, "Улсын бүртгэлийн ерөнхий газар", ("civil-registry",)),
                 MemberInfo(portal, "E-Mongolia", ("portal",))),
        security_servers=(SecurityServerInfo(
            SecurityServerId(gasr, "ss1"), "https://127.0.0.1:5500", frozenset({"ab" * 32}),
            frozenset({ClientId.parse("MN/GOV/GASR/civil-registry")})),),
        approved_cas=(ca.root,))
    return codec.encode(conf)


@pytest.fixture(scope="module")
def signed_conf(conf_content, conf_signer) -> bytes:
    return codec.sign(conf_content, conf_signer)  # once: ECDSA signatures vary in length


@FUZZ
@given(data=st.data())
def test_globalconf_verify_refuses_with_outdated_globalconf_only(data, conf_content,
                                                                 signed_conf, conf_signer):
    anchors = data.draw(st.sampled_from([[], [conf_signer.certificate]]))
    candidate = data.draw(variants([signed_conf], JSON_TOKENS))
    verified = refused_only(errors.OutdatedGlobalConf, codec.verify, candidate, "MN", anchors)
    if verified is not None:  # the signature binds the exact configuration bytes
        assert verified[1] == conf_content


@FUZZ
@given(data=st.data())
def test_globalconf_signed_garbage_is_refused_with_outdated_globalconf_only(data, conf_content,
                                                                            conf_signer):
    """Content the anchor really signed, but malformed: reaches `decode` past the signature."""
    content = data.draw(mutated(conf_content, JSON_TOKENS))
    signed = codec.sign(content, conf_signer)
    verified = refused_only(errors.OutdatedGlobalConf, codec.verify, signed, "MN",
                            [conf_signer.certificate])
    if verified is not None:
        assert verified[0].instance == "MN"


def test_globalconf_with_a_malformed_approved_ca_is_refused(conf_content, ca):
    der = ca.root.public_bytes(serialization.Encoding.DER)
    bad = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x0a", 1)  # v3 -> "v11"
    assert bad != der
    content = json.dumps({**json.loads(conf_content),
                          "approved_cas": [base64.b64encode(bad).decode()]}).encode()
    with pytest.raises(errors.OutdatedGlobalConf):
        codec.decode(content)


# -- signatures ----------------------------------------------------------------------------

SOAP_PART: Final = Part(SOAP_CT, DEMO)


@pytest.fixture(scope="module")
def signature(member_signer, at) -> Part:
    return sign_message([SOAP_PART], direction=Direction.REQUEST, request_id="req-1",
                        message_id="demo-0001", client="MN/GOV/EMONGOLIA/portal",
                        service="MN/GOV/GASR/civil-registry/getPerson", signer=member_signer,
                        chain=member_signer.chain, at=at, ocsp=None)


def _signature_doc(draw: st.DrawFn, signature: Part) -> bytes:
    """A signature part's body: garbage, a mutated real one, or real JSON around a mutated
    CMS or manifest (so the CMS and manifest decoders see the damage)."""
    doc = json.loads(signature.data)
    cms, manifest = base64.b64decode(doc["cms"]), base64.b64decode(doc["manifest"])
    choice = draw(st.sampled_from(["bytes", "json", "cms", "manifest"]))
    if choice == "bytes":
        return draw(variants([signature.data], JSON_TOKENS))
    if choice == "json":
        return draw(mutated(signature.data, JSON_TOKENS))
    if choice == "cms":
        cms = draw(mutated(cms))
    else:
        manifest = draw(mutated(manifest, JSON_TOKENS))
    return json.dumps({**doc, "cms": base64.b64encode(cms).decode(),
                       "manifest": base64.b64encode(manifest).decode()}).encode()


@FUZZ
@given(data=st.data())
def test_verify_message_refuses_with_verification_error_only(data, signature, ca, at):
    content = data.draw(st.just(SOAP_PART) | mutated(DEMO).map(lambda d: Part(SOAP_CT, d)))
    content_type = data.draw(st.just(SIGNATURE_CONTENT_TYPE) | st.text(max_size=20))
    garbage = Part(content_type, _signature_doc(data.draw, signature))
    verified = refused_only(
        errors.VerificationError, lambda: verify_message(
            [content, garbage], direction=Direction.REQUEST, request_id="req-1",
            expected_signer=GASR, approved_cas=[ca.root], at=at,
            revocation=UnsafeNoRevocationCheck()))
    if verified is not None:  # only the exact bytes that were signed pass
        assert verified.parts == (SOAP_PART,)
        assert verified.signer == GASR


DETACHED_CONTENT: Final = b'{"manifest":"the exact bytes that were signed"}'


@pytest.fixture(scope="module")
def detached_cms(member_signer, at) -> bytes:
    return sign_detached(DETACHED_CONTENT, member_signer, member_signer.chain, at)


@FUZZ
@given(data=st.data())
def test_verify_detached_refuses_with_verification_error_only(data, detached_cms,
                                                              member_signer):
    content, cms = DETACHED_CONTENT, detached_cms
    candidate = data.draw(variants([cms]))
    signed = data.draw(st.just(content) | mutated(content))
    result = refused_only(errors.VerificationError, verify_detached, candidate, signed)
    if result is not None:  # whatever else changed, the signer's key made this signature
        assert signed == content
        assert result.signer.public_key() == member_signer.certificate.public_key()


ID_EC_PUBLIC_KEY: Final = b"\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"  # OID 1.2.840.10045.2.1
CRITICAL_BASIC_CONSTRAINTS: Final = b"\x06\x03\x55\x1d\x13\x01\x01\xff"  # 2.5.29.19, critical


def _corrupted(signature: Part, old: bytes, new: bytes) -> tuple[bytes, bytes]:
    """The signature's CMS with `old` replaced by `new` wherever it occurs, and its manifest.
    cryptography parses certificate fields lazily, so the certificates still load."""
    doc = json.loads(signature.data)
    cms = base64.b64decode(doc["cms"])
    assert old in cms
    return cms.replace(old, new), base64.b64decode(doc["manifest"])


def _verify_with_cms(signature: Part, cms: bytes, ca, at) -> Any:
    doc = {**json.loads(signature.data), "cms": base64.b64encode(cms).decode()}
    return verify_message([SOAP_PART, Part(SIGNATURE_CONTENT_TYPE, json.dumps(doc).encode())],
                          direction=Direction.REQUEST, request_id="req-1", expected_signer=GASR,
                          approved_cas=[ca.root], at=at, revocation=UnsafeNoRevocationCheck())


@pytest.mark.parametrize("where", ["root-ca-name-read-by-verify-chain",
                                   "ca-extensions-read-by-verify-chain",
                                   "signer-issuer-name-read-by-verify-detached",
                                   "signer-public-key-read-by-verify-signature",
                                   "signer-key-algorithm-read-by-verify-signature"])
def test_malformed_field_in_a_carried_certificate_is_refused(signature, member_signer, ca, at,
                                                            where):
    if where.startswith("root"):
        cms, _ = _corrupted(signature, b"MN Dev Root CA", b"MN Dev Root \xc3\xff")
    elif where.startswith("ca-extensions"):  # the CAs' basicConstraints value: SET, not SEQUENCE
        cms, _ = _corrupted(signature, CRITICAL_BASIC_CONSTRAINTS + b"\x04\x08\x30",
                            CRITICAL_BASIC_CONSTRAINTS + b"\x04\x08\x31")
    if where.startswith(("root", "ca-extensions")):
        with pytest.raises(errors.VerificationError):
            _verify_with_cms(signature, cms, ca, at)
        return
    if where.startswith("signer-issuer"):
        cms, manifest = _corrupted(signature, b"MN Dev Issuing CA", b"MN Dev Issuing \xc3\xff")
    elif where.startswith("signer-key-algorithm"):
        cms, manifest = _corrupted(signature, ID_EC_PUBLIC_KEY,  # in every certificate
                                   ID_EC_PUBLIC_KEY[:-1] + b"\x7f")
    else:
        point = member_signer.certificate.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        cms, manifest = _corrupted(signature, point, point[:-1] + bytes([point[-1] ^ 1]))
    with pytest.raises(errors.VerificationError):
        verify_detached(cms, manifest)


# -- encryption ----------------------------------------------------------------------------

CONTEXT: Final = b"xroad-bus/1\nrequest\nreq-1\nMN/GOV/EMONGOLIA/ss1\nMN/GOV/GASR/ss1"
PAIRS: Final = {suite: keypair_from_seed(bytes(range(96)), suite) for suite in Suite}
KEYS: Final = {key_id(p.public_bytes): p for p in PAIRS.values()}
STREAMS: Final = tuple(  # (plaintext, encrypted stream): empty, short, and two chunks
    (plain, b"".join(encrypt([plain], PAIRS[suite].recipient, CONTEXT)))
    for suite, plain in [(Suite.X25519_AES256GCM, b""), (Suite.X25519_AES256GCM, DEMO),
                         (Suite.MLKEM768_X25519_AES256GCM, DEMO),
                         (Suite.X25519_AES256GCM, bytes(CHUNK_SIZE + 100))])


@st.composite
def encrypted_inputs(draw: st.DrawFn) -> tuple[bytes | None, bytes, list[int]]:
    """(the plaintext if the stream came from one, the bytes received, where TCP cut them)."""
    plain, stream = draw(st.sampled_from(STREAMS))
    received = draw(st.just(stream) | mutated(stream) | st.binary(max_size=200))
    cuts = sorted(draw(st.lists(st.integers(0, len(received)), max_size=4)))
    return (plain if received == stream else None), received, cuts


@FUZZ
@given(encrypted_inputs())
def test_decryptor_refuses_with_decryption_failed_only(case):
    plain, received, cuts = case
    decryptor = Decryptor(KEYS, CONTEXT)

    def run() -> bytes:
        pieces = [received[a:b] for a, b in zip([0, *cuts], [*cuts, len(received)], strict=True)]
        out = b"".join(b"".join(decryptor.feed(piece)) for piece in pieces)
        decryptor.finish()
        return out

    out = refused_only(errors.DecryptionFailed, run)
    if out is not None:  # authenticated: only the sender's exact stream opens, to its plaintext
        assert plain is not None
        assert out == plain


# -- escapes byte mutations do not reach -------------------------------------------------

DEEP_JSON: Final = b"[" * 100_000  # 100 kB: far below every size limit
_AT: Final = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _verify_signature_part(data: bytes) -> Any:
    return verify_message([SOAP_PART, Part(SIGNATURE_CONTENT_TYPE, data)],
                          direction=Direction.REQUEST, request_id="req-1", expected_signer=GASR,
                          approved_cas=[], at=_AT, revocation=UnsafeNoRevocationCheck())


# codec, its own refusal; each is reached before any signature is checked (or is the check)
DEEP_JSON_CODECS: Final = {
    "rest-request-header-part": (RestRequest.decode, errors.InvalidMessage),
    "rest-response-header-part": (RestResponse.decode, errors.InvalidMessage),
    "signature-part": (_verify_signature_part, errors.MalformedSignature),
    "signed-manifest": (Manifest.decode, errors.MalformedSignature),
    "signed-globalconf-document": (lambda d: codec.verify(d, "MN", []),
                                   errors.OutdatedGlobalConf),
    "globalconf-content": (codec.decode, errors.OutdatedGlobalConf),
}


@pytest.mark.parametrize(("decode", "refusal"), DEEP_JSON_CODECS.values(),
                         ids=DEEP_JSON_CODECS.keys())
def test_deeply_nested_json_is_refused_by_the_codec(decode, refusal):
    with pytest.raises(refusal):
        decode(DEEP_JSON)


def test_deeply_nested_fault_from_peer_is_read_as_malformed():
    assert parse_rest_error(DEEP_JSON).code == "Server.ServerProxy.InternalError"


def _rest_doc(**changes: Any) -> bytes:
    return json.dumps({**REST_DOC, **changes}).encode()


def _conf_doc(members: list[Any], clients: list[Any]) -> bytes:
    return json.dumps({
        "instance": "MN", "version": 1, "generated_at": "2025-01-01T12:00:00+00:00",
        "expires_at": "2025-01-01T12:10:00+00:00", "member_classes": ["GOV"],
        "ocsp_freshness_seconds": 3600, "approved_cas": [], "members": members,
        "security_servers": [{"id": "MN/GOV/GASR/ss1", "address": "https://h:5500",
                              "auth_cert_hashes": [], "clients": clients}]}).encode()


_MEMBER: Final = {"id": GASR, "name": "GASR", "subsystems": []}

# input, codec, its own refusal
WRONG_JSON_TYPES: Final = {
    "rest-service-not-a-string": (_rest_doc(service=1), RestRequest.decode,
                                  errors.InvalidMessage),
    "rest-client-null": (_rest_doc(client=None), RestRequest.decode, errors.InvalidMessage),
    "rest-path-null-becomes-None": (_rest_doc(path=None), RestRequest.decode,
                                    errors.InvalidMessage),
    "rest-header-as-a-string": (_rest_doc(headers=["ab"]), RestRequest.decode,
                                errors.InvalidMessage),
    "rest-user-id-a-number": (_rest_doc(user_id=5), RestRequest.decode, errors.InvalidMessage),
    "globalconf-member-id-a-number": (_conf_doc([{**_MEMBER, "id": 5}], []), codec.decode,
                                      errors.OutdatedGlobalConf),
    "globalconf-client-id-null": (_conf_doc([_MEMBER], [None]), codec.decode,
                                  errors.OutdatedGlobalConf),
    "globalconf-version-1e999": (
        _conf_doc([_MEMBER], []).replace(b'"version": 1', b'"version": 1e999'), codec.decode,
        errors.OutdatedGlobalConf),
    "rest-response-status-1e999": (b'{"status":1e999,"headers":[],"request_hash":"h"}',
                                   RestResponse.decode, errors.InvalidMessage),
}


@pytest.mark.parametrize(("data", "decode", "refusal"), WRONG_JSON_TYPES.values(),
                         ids=WRONG_JSON_TYPES.keys())
def test_json_value_of_the_wrong_type_is_refused_by_the_codec(data, decode, refusal):
    with pytest.raises(refusal):
        decode(data)
