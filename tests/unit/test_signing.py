"""sign_message/verify_message over exact part bytes, with a dev PKI built once per session."""

import base64
import json
import shutil
import subprocess
from dataclasses import replace
from datetime import timedelta

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from keys.devpki import new_key
from xroad.errors import CertificateError, InvalidSignature, MalformedSignature, VerificationError
from xroad.identifiers import ClientId
from xroad.messages.multipart import Part
from xroad.signing.certpath import verify_chain
from xroad.signing.cms import verify_detached
from xroad.signing.message import (
    SIGNATURE_CONTENT_TYPE,
    Direction,
    Manifest,
    UnsafeNoRevocationCheck,
    VerifiedMessage,
    digest,
    sign_message,
    verify_message,
)
from xroad.signing.profile import member_subject
from xroad.signing.signer import SignatureAlgorithm, verify_signature

GASR = "MN/GOV/GASR"
# These tests are about the signature mechanics; revocation has its own tests
# (test_signing_revocation.py).
NO_REVOCATION = UnsafeNoRevocationCheck()
PARTS = [Part("text/xml; charset=UTF-8", b"<SOAP-ENV:Envelope>...</SOAP-ENV:Envelope>"),
         Part("application/octet-stream", b"\x00\r\n--binary--\r\n")]


def _sign(signer, at, *, parts=PARTS, direction=Direction.REQUEST, request_id="req-1",
          request_hash=None):
    return [*parts, sign_message(parts, direction=direction, request_id=request_id,
                                 message_id="msg-1", client="MN/GOV/ALAMGAC/land",
                                 service="MN/GOV/GASR/civil/getPerson", signer=signer,
                                 chain=signer.chain, at=at, ocsp=None,
                                 request_hash=request_hash)]


def _verify(message, ca, at, *, direction=Direction.REQUEST, request_id="req-1",
            expected_signer=GASR, approved=None):
    return verify_message(message, direction=direction, request_id=request_id,
                          expected_signer=expected_signer,
                          approved_cas=[ca.root] if approved is None else approved, at=at,
                          revocation=NO_REVOCATION)


@pytest.fixture(scope="module")
def gasr(ca, make_signer):
    return make_signer(ca)


@pytest.mark.parametrize(("kind", "algorithm"), [
    ("ec", SignatureAlgorithm.ECDSA_SHA512),
    ("rsa", SignatureAlgorithm.RSA_SHA512),
])
def test_sign_and_verify(ca, make_signer, at, kind, algorithm):
    signer = make_signer(ca, kind=kind)
    message = _sign(signer, at)

    verified = _verify(message, ca, at + timedelta(minutes=1))

    doc = json.loads(message[-1].data)
    cms_signature = verify_detached(base64.b64decode(doc["cms"]),
                                    base64.b64decode(doc["manifest"]))
    assert cms_signature.algorithm == algorithm
    assert verified.parts == tuple(PARTS)
    assert verified.signer == GASR
    assert verified.signer_cert == signer.certificate
    assert verified.signature_digest == digest(message[-1].data)
    assert verified.verified_at == at + timedelta(minutes=1)
    assert verified.manifest.message_id == "msg-1"
    assert verified.manifest.parts == tuple((p.content_type, digest(p.data)) for p in PARTS)


def test_response_binds_request_hash(ca, gasr, at):
    message = _sign(gasr, at, direction=Direction.RESPONSE, request_hash="rh")
    verified = _verify(message, ca, at, direction=Direction.RESPONSE)
    assert verified.manifest.request_hash == "rh"
    assert verified.manifest.direction is Direction.RESPONSE


def test_issuing_ca_as_the_approved_ca(ca, gasr, at):
    assert _verify(_sign(gasr, at), ca, at, approved=[ca.issuing]).signer == GASR


def test_signature_part_is_json_with_a_detached_cms_signature(gasr, at):
    part = _sign(gasr, at)[-1]
    doc = json.loads(part.data)
    assert part.content_type == SIGNATURE_CONTENT_TYPE
    assert set(doc) == {"manifest", "cms", "ocsp"}
    certs = _cms(part)["content"]["certificates"]
    assert len(certs) == 3  # leaf, issuing CA, root; the leaf only once
    manifest = Manifest.decode(base64.b64decode(doc["manifest"]))
    assert manifest.signed_at.utcoffset() == timedelta(0)


def _with_doc(message, **changes):
    doc = json.loads(message[-1].data)
    doc.update(changes)
    return [*message[:-1], Part(SIGNATURE_CONTENT_TYPE, json.dumps(doc).encode())]


def _flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]


def _cms(part):
    return cms.ContentInfo.load(base64.b64decode(json.loads(part.data)["cms"]))


def _with_cms(message, info):
    return _with_doc(message, cms=base64.b64encode(info.dump(force=True)).decode())


def _tamper_signature(message):
    sig = base64.b64decode(json.loads(message[-1].data)["cms"])
    return _with_doc(message, cms=base64.b64encode(_flip(sig, len(sig) - 1)).decode())


def _tamper_manifest(message, **changes):
    doc = json.loads(base64.b64decode(json.loads(message[-1].data)["manifest"]))
    doc.update(changes)
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return _with_doc(message, manifest=base64.b64encode(raw).decode())


TAMPERED = {
    "byte-in-first-part": lambda m: [Part(m[0].content_type, _flip(m[0].data, 3)), *m[1:]],
    "byte-in-last-part": lambda m: [m[0], Part(m[1].content_type, _flip(m[1].data, 0)), m[2]],
    "part-content-type": lambda m: [Part("text/plain", m[0].data), *m[1:]],
    "part-removed": lambda m: [m[0], m[2]],
    "part-appended": lambda m: [*m[:2], Part("a", b""), m[2]],
    "parts-swapped": lambda m: [m[1], m[0], m[2]],
    "signature-bytes": _tamper_signature,
    "manifest-request-id": lambda m: _tamper_manifest(m, request_id="req-2"),
    "manifest-parts": lambda m: _tamper_manifest(m, parts=[]),
    "manifest-message-id": lambda m: _tamper_manifest(m, message_id="msg-2"),
}


@pytest.mark.parametrize("tamper", TAMPERED.values(), ids=TAMPERED.keys())
@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_tampered_message_is_refused(ca, make_signer, at, tamper, kind):
    message = _sign(make_signer(ca, kind=kind), at)
    with pytest.raises(InvalidSignature):
        _verify(tamper(message), ca, at)


def test_tampered_signature_length_is_refused(ca, gasr, at):
    message = _sign(gasr, at)
    info = _cms(message[-1])
    signer_info = info["content"]["signer_infos"][0]
    signer_info["signature"] = signer_info["signature"].native[:-4]
    message = _with_cms(message, info)
    with pytest.raises((InvalidSignature, MalformedSignature)):
        _verify(message, ca, at)


@pytest.mark.parametrize(("direction", "request_id"), [
    pytest.param(Direction.RESPONSE, "req-1", id="wrong-direction"),
    pytest.param(Direction.REQUEST, "req-2", id="wrong-request-id"),
])
def test_signature_of_another_message_of_the_exchange(ca, gasr, at, direction, request_id):
    with pytest.raises(InvalidSignature, match="another message"):
        _verify(_sign(gasr, at), ca, at, direction=direction, request_id=request_id)


def _without_certificates(message):
    info = _cms(message[-1])
    info["content"]["certificates"] = []
    return info


def _with_algorithm(message, name):
    info = _cms(message[-1])
    info["content"]["signer_infos"][0]["signature_algorithm"] = {"algorithm": name}
    return info


def _attached(message):
    info = _cms(message[-1])
    info["content"]["encap_content_info"] = {"content_type": "data", "content": b"x"}
    return info


MALFORMED = {
    "no-signature-part": lambda m: m[:-1],
    "only-signature": lambda m: m[-1:],
    "last-part-not-signature": lambda m: [*m[:-1], Part("text/plain", m[-1].data)],
    "not-json": lambda m: [*m[:-1], Part(SIGNATURE_CONTENT_TYPE, b"{")],
    "no-certificates": lambda m: _with_cms(m, _without_certificates(m)),
    "bad-base64-signature": lambda m: _with_doc(m, cms="!!"),
    "garbage-cms": lambda m: _with_doc(m, cms="AAAA"),
    "algorithm-mismatch": lambda m: _with_cms(m, _with_algorithm(m, "sha512_rsa")),
    "attached-content": lambda m: _with_cms(m, _attached(m)),
    "missing-field": lambda m: _with_doc(m, manifest=None),
}


@pytest.mark.parametrize("tamper", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_signature(ca, gasr, at, tamper):
    with pytest.raises(MalformedSignature):
        _verify(tamper(_sign(gasr, at)), ca, at)


def test_signer_of_another_member(ca, make_signer, at):
    message = _sign(make_signer(ca, member="MN/GOV/ALAMGAC"), at)
    with pytest.raises(CertificateError, match="MN/GOV/ALAMGAC"):
        _verify(message, ca, at)


def test_subsystem_signing_certificate_is_refused(ca, make_signer, at):
    message = _sign(make_signer(ca, member="MN/GOV/GASR/civil"), at)
    with pytest.raises(CertificateError, match="members"):
        _verify(message, ca, at, expected_signer="MN/GOV/GASR/civil")


def test_certificate_from_unknown_ca(ca, foreign_ca, make_signer, at):
    # Same CA names as `ca`, other keys: a name match alone must not build a path.
    message = _sign(make_signer(foreign_ca), at)
    with pytest.raises(CertificateError):
        _verify(message, ca, at)


def test_unknown_ca_without_sent_chain(ca, foreign_ca, make_signer, at):
    signer = make_signer(foreign_ca)
    message = _sign(signer, at)
    info = _cms(message[-1])
    info["content"]["certificates"] = [
        c for c in info["content"]["certificates"]
        if c.chosen.serial_number == signer.certificate.serial_number]
    message = _with_cms(message, info)
    with pytest.raises(CertificateError):
        _verify(message, ca, at)


def test_no_approved_ca(ca, gasr, at):
    with pytest.raises(CertificateError):
        _verify(_sign(gasr, at), ca, at, approved=[])


# The leaf is valid from `at - 1 h` to `at + 365 d`; the issuing CA until `at + 1825 d`.
VALIDITY = {
    "just-issued": (timedelta(hours=-1), None),
    "last-day": (timedelta(days=365), None),
    "not-yet-valid": (timedelta(hours=-1, seconds=-1), "not yet valid"),
    "expired": (timedelta(days=365, seconds=1), "expired"),
    "long-expired": (timedelta(days=4000), "expired"),
}


@pytest.mark.parametrize(("offset", "error"), VALIDITY.values(), ids=VALIDITY.keys())
def test_certificate_validity_at_verification_time(ca, gasr, at, offset, error):
    message = _sign(gasr, at)
    if error is None:
        assert _verify(message, ca, at + offset).signer == GASR
    else:
        with pytest.raises(CertificateError, match=error):
            _verify(message, ca, at + offset)


def test_verified_message_cannot_be_constructed_directly(ca, gasr, at):
    verified = _verify(_sign(gasr, at), ca, at)
    with pytest.raises(TypeError, match="verify_message"):
        VerifiedMessage(verified.parts, verified.manifest, verified.signer, verified.signer_cert,
                        verified.signature_digest, verified.verified_at)
    with pytest.raises(TypeError):
        replace(verified, _issuer=object())


def test_naive_datetime_is_refused(ca, gasr, at):
    naive = at.replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        _sign(gasr, naive)
    with pytest.raises(ValueError, match="naive"):
        _verify(_sign(gasr, at), ca, naive)
    with pytest.raises(ValueError, match="naive"):
        verify_chain(gasr.certificate, gasr.chain[1:], [ca.root], naive)


def test_verify_chain_returns_the_path(ca, gasr, at):
    path = verify_chain(gasr.certificate, list(gasr.chain[1:]), [ca.root], at)
    assert path == [gasr.certificate, ca.issuing, ca.root]


def _cert(subject, issuer_name, public_key, signing_key, at, *, ca_flag):
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
        .public_key(public_key).serial_number(x509.random_serial_number())
        .not_valid_before(at - timedelta(hours=1)).not_valid_after(at + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None), critical=True)
        .sign(signing_key, hashes.SHA256())
    )


def test_certificate_issued_by_a_non_ca_is_refused(ca, at):
    # The issuing CA signed an ordinary (non-CA) certificate; its key must not issue members.
    middle_key, leaf_key = new_key(), new_key()
    middle_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a CA")])
    middle = _cert(middle_name, ca.issuing.subject, middle_key.public_key(), ca.issuing_key, at,
                   ca_flag=False)
    leaf = _cert(member_subject(ClientId.parse(GASR)), middle_name, leaf_key.public_key(),
                 middle_key, at, ca_flag=False)
    with pytest.raises(CertificateError, match="not a CA"):
        verify_chain(leaf, [middle, ca.issuing], [ca.root], at)


def test_forged_issuer_signature_is_refused(ca, foreign_ca, at):
    # Issuer names match the approved CA, but the signature is by the foreign CA's key.
    key = new_key()
    leaf = _cert(member_subject(ClientId.parse(GASR)), ca.issuing.subject, key.public_key(),
                 foreign_ca.issuing_key, at, ca_flag=False)
    with pytest.raises(CertificateError, match="bad issuer signature"):
        verify_chain(leaf, [ca.issuing], [ca.root], at)


def test_verify_signature_needs_exact_bytes(gasr):
    data = b"manifest bytes"
    signature = gasr.sign(data)
    verify_signature(gasr.certificate, str(gasr.algorithm), signature, data)
    with pytest.raises(VerificationError):
        verify_signature(gasr.certificate, str(gasr.algorithm), signature, data + b"\n")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_openssl_cms_verify_accepts_the_signature(ca, make_signer, at, tmp_path, kind):
    """The documented command (docs/protocol.md) checks our signatures with a standard tool."""
    message = _sign(make_signer(ca, kind=kind), at)
    doc = json.loads(message[-1].data)
    (tmp_path / "manifest.json").write_bytes(base64.b64decode(doc["manifest"]))
    (tmp_path / "signature.p7s").write_bytes(base64.b64decode(doc["cms"]))
    (tmp_path / "ca.pem").write_bytes(ca.root.public_bytes(serialization.Encoding.PEM))
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER",
               "-in", "signature.p7s", "-content", "manifest.json", "-CAfile", "ca.pem",
               "-purpose", "any", "-attime", str(int(at.timestamp())), "-out", "/dev/null"]
    ok = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "Verification successful" in ok.stderr
    (tmp_path / "manifest.json").write_bytes(base64.b64decode(doc["manifest"]) + b" ")
    tampered = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                              check=False)
    assert tampered.returncode != 0
