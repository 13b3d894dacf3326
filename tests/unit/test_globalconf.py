"""Global configuration: codec round trip, signature against the anchor, freshness, replay."""

import base64
import hashlib
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from xroad.clock import FixedClock
from xroad.errors import OutdatedGlobalConf, UnknownMember
from xroad.globalconf import codec
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf, MemberInfo, SecurityServerInfo
from xroad.globalconf.refresh import GlobalConfClient
from xroad.identifiers import ClientId, SecurityServerId

VALIDITY = timedelta(minutes=10)


@pytest.fixture(scope="module")
def conf(ca, at):
    gasr, alamgac = ClientId.parse("MN/GOV/GASR"), ClientId.parse("MN/GOV/ALAMGAC")
    return GlobalConf(
        instance="MN",
        version=7,
        generated_at=at,
        expires_at=at + VALIDITY,
        member_classes=("GOV", "COM"),
        members=(MemberInfo(gasr, "Улсын бүртгэлийн ерөнхий газар", ("civil", "land")),
                 MemberInfo(alamgac, "ALAMGAC")),
        security_servers=(
            SecurityServerInfo(SecurityServerId(gasr, "ss1"), "https://10.0.0.1:5500",
                               frozenset({"ab" * 32, "cd" * 32}),
                               frozenset({ClientId.parse("MN/GOV/GASR/civil"),
                                          ClientId.parse("MN/GOV/GASR/land")})),
            SecurityServerInfo(SecurityServerId(alamgac, "ss2"), "https://10.0.0.2:5500",
                               frozenset(), frozenset()),
        ),
        approved_cas=(ca.root,),
        ocsp_freshness_s=1200,
    )


def _signed(conf, signer):
    return codec.sign(codec.encode(conf), signer)


def test_encode_decode_round_trip(conf):
    data = codec.encode(conf)
    assert codec.decode(data) == conf
    assert codec.encode(codec.decode(data)) == data  # canonical: stable bytes


def test_encoding_is_independent_of_set_order(conf):
    server = conf.security_servers[0]
    shuffled = replace(server, clients=frozenset(sorted(server.clients, key=str, reverse=True)))
    assert codec.encode(replace(conf, security_servers=(shuffled, *conf.security_servers[1:]))) \
        == codec.encode(conf)


@pytest.mark.parametrize("data", [
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"{}", id="empty"),
    pytest.param(b"[]", id="array"),
])
def test_decode_malformed(data):
    with pytest.raises(OutdatedGlobalConf):
        codec.decode(data)


@pytest.mark.parametrize(("old", "new"), [
    pytest.param(b'"MN/GOV/ALAMGAC"', b'"MN/GOV/ALAM GAC"', id="member"),
    pytest.param(b'"MN/GOV/GASR/ss1"', b'"MN/GOV/GASR/civil/ss1"', id="security-server"),
])
def test_signed_conf_with_bad_identifier_is_refused(conf, conf_signer, old, new):
    content = codec.encode(conf).replace(old, new)
    assert content != codec.encode(conf)
    with pytest.raises(OutdatedGlobalConf):
        codec.verify(codec.sign(content, conf_signer), "MN", [conf_signer.certificate])


def test_decode_refuses_naive_timestamps(conf):
    doc = json.loads(codec.encode(conf))
    doc["expires_at"] = doc["expires_at"].removesuffix("+00:00")
    with pytest.raises(OutdatedGlobalConf):
        codec.decode(json.dumps(doc).encode()).ensure_fresh(conf.generated_at)


def test_sign_and_verify(conf, conf_signer):
    signed = _signed(conf, conf_signer)
    verified, content = codec.verify(signed, "MN", [conf_signer.certificate])
    assert verified == conf
    assert content == codec.encode(conf)


def test_verify_with_several_anchor_certificates(conf, conf_signer, other_conf_signer):
    signed = _signed(conf, conf_signer)
    anchors = [other_conf_signer.certificate, conf_signer.certificate]
    assert codec.verify(signed, "MN", anchors)[0] == conf


def _edit(signed, **changes):
    doc = json.loads(signed)
    doc.update(changes)
    return json.dumps(doc).encode()


def _b64(data):
    return base64.b64encode(data).decode()


REFUSED = {
    "tampered-content": lambda s, c: _edit(s, content=_b64(c.replace(b'"version":7',
                                                                     b'"version":8'))),
    "content-appended": lambda s, c: _edit(s, content=_b64(c + b" ")),
    "tampered-signature": lambda s, c: _edit(s, signature=_b64(b"\x00" * 72)),
    "wrong-algorithm": lambda s, c: _edit(s, signature_algorithm="SHA512withRSA"),
    "other-format": lambda s, c: _edit(s, format="xroad-bus-globalconf/2"),
    "missing-signature": lambda s, c: _edit(s, signature=None),
    "bad-base64": lambda s, c: _edit(s, content="!!"),
    "not-json": lambda s, c: b"garbage",
    "unknown-cert-hash": lambda s, c: _edit(s, verification_cert_sha256="00" * 32),
}


@pytest.mark.parametrize("tamper", REFUSED.values(), ids=REFUSED.keys())
def test_tampered_signed_conf_is_refused(conf, conf_signer, tamper):
    signed = _signed(conf, conf_signer)
    with pytest.raises(OutdatedGlobalConf):
        codec.verify(tamper(signed, codec.encode(conf)), "MN", [conf_signer.certificate])


def test_signed_by_key_not_in_anchor(conf, conf_signer, other_conf_signer):
    with pytest.raises(OutdatedGlobalConf, match="not in the anchor"):
        codec.verify(_signed(conf, other_conf_signer), "MN", [conf_signer.certificate])


def test_anchor_hash_pointing_at_other_key(conf, conf_signer, other_conf_signer):
    # Signed by a stranger who names a trusted certificate: the signature must not verify.
    signed = _edit(_signed(conf, other_conf_signer), verification_cert_sha256=hashlib.sha256(
        conf_signer.certificate.public_bytes(serialization.Encoding.DER)).hexdigest())
    with pytest.raises(OutdatedGlobalConf, match="signature is invalid"):
        codec.verify(signed, "MN", [conf_signer.certificate])


def test_wrong_instance(conf, conf_signer):
    with pytest.raises(OutdatedGlobalConf, match="instance"):
        codec.verify(_signed(conf, conf_signer), "EE", [conf_signer.certificate])


def test_oversized_signed_conf(conf_signer):
    with pytest.raises(OutdatedGlobalConf, match="too large"):
        codec.verify(b" " * (codec.MAX_SIGNED_BYTES + 1), "MN", [conf_signer.certificate])


FRESHNESS = {
    "just-generated": (timedelta(0), None),
    "one-second-before-expiry": (VALIDITY - timedelta(seconds=1), None),
    "at-expiry": (VALIDITY, OutdatedGlobalConf),
    "after-expiry": (VALIDITY + timedelta(seconds=1), OutdatedGlobalConf),
}


@pytest.mark.parametrize(("offset", "error"), FRESHNESS.values(), ids=FRESHNESS.keys())
def test_ensure_fresh(conf, offset, error):
    if error is None:
        conf.ensure_fresh(conf.generated_at + offset)
    else:
        with pytest.raises(error, match="expired"):
            conf.ensure_fresh(conf.generated_at + offset)


def test_ensure_fresh_refuses_naive_datetime(conf):
    with pytest.raises(ValueError, match="naive"):
        conf.ensure_fresh(conf.generated_at.replace(tzinfo=None))


def test_member_lookups(conf):
    assert conf.member(ClientId.parse("MN/GOV/GASR/civil")).name.startswith("Улсын")
    assert conf.is_known_client(ClientId.parse("MN/GOV/GASR/land"))
    assert not conf.is_known_client(ClientId.parse("MN/GOV/GASR/tax"))
    assert not conf.is_known_client(ClientId.parse("MN/COM/GASR"))
    with pytest.raises(UnknownMember):
        conf.member(ClientId.parse("EE/GOV/GASR"))
    hosting = conf.servers_hosting(ClientId.parse("MN/GOV/GASR/civil"))
    assert [str(s.id) for s in hosting] == ["MN/GOV/GASR/ss1"]
    assert conf.server_by_auth_cert("ab" * 32) is conf.security_servers[0]
    assert conf.server_by_auth_cert("ef" * 32) is None
    with pytest.raises(UnknownMember):
        conf.server(SecurityServerId.parse("MN/GOV/GASR/ss9"))


def test_anchor_round_trip(conf_signer):
    anchor = ConfigurationAnchor("MN", "https://cs.example.mn/globalconf",
                                 (conf_signer.certificate,))
    assert ConfigurationAnchor.decode(anchor.encode()) == anchor


@pytest.mark.parametrize("data", [b"{}", b"nope", b'{"instance":"MN","download_url":"x",'
                                                    b'"verification_certs":["junk"]}'])
def test_anchor_malformed(data):
    with pytest.raises(OutdatedGlobalConf):
        ConfigurationAnchor.decode(data)


@pytest.fixture
def client(conf_signer, tmp_path, at):
    anchor = ConfigurationAnchor("MN", "http://127.0.0.1:9/unused", (conf_signer.certificate,))
    return GlobalConfClient(anchor, tmp_path / "globalconf.signed", FixedClock(at))


# Versions offered in turn; None means accepted, otherwise the version that stays current.
REPLAY = {
    "newer-accepted": [(7, None), (8, None)],
    "same-version-accepted": [(7, None), (7, None)],
    "older-refused": [(8, None), (7, 8)],
    "older-refused-after-several": [(7, None), (9, None), (8, 9), (7, 9)],
}


@pytest.mark.parametrize("steps", REPLAY.values(), ids=REPLAY.keys())
def test_accept_refuses_older_versions(client, conf, conf_signer, steps):
    for version, kept in steps:
        signed = _signed(replace(conf, version=version), conf_signer)
        if kept is None:
            assert client.accept(signed).version == version
        else:
            with pytest.raises(OutdatedGlobalConf, match="older"):
                client.accept(signed)
            assert client.current().version == kept


def test_accept_refuses_unverified(client, conf, other_conf_signer):
    with pytest.raises(OutdatedGlobalConf):
        client.accept(_signed(conf, other_conf_signer))
    with pytest.raises(OutdatedGlobalConf, match="no verified"):
        client.current()


def test_current_follows_the_clock(client, conf, conf_signer):
    with pytest.raises(OutdatedGlobalConf, match="no verified"):
        client.current()
    client.accept(_signed(conf, conf_signer))

    client.clock.advance(VALIDITY - timedelta(seconds=1))
    assert client.current() == conf
    client.clock.advance(timedelta(seconds=1))
    with pytest.raises(OutdatedGlobalConf, match="expired"):
        client.current()
    assert client.current(conf.generated_at) == conf  # an explicit time wins


def test_load_cached(client, conf, conf_signer, other_conf_signer):
    assert client.load_cached() is None  # nothing cached yet
    client.cache_path.write_bytes(_signed(conf, other_conf_signer))
    assert client.load_cached() is None  # cached copy not signed by the anchor
    client.cache_path.write_bytes(_signed(conf, conf_signer))
    assert client.load_cached() == conf
    assert client.current() == conf
