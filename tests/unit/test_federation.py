"""Federation as a security server sees it (ADR 0008): trusted anchors in the own global
configuration, a verified configuration per federated instance, and peers of either instance."""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from keys.devpki import DevCa, ensure_dev_ca, new_key
from keys.token import SoftwareSigner
from xroad.clock import FixedClock
from xroad.errors import OutdatedGlobalConf, SslAuthenticationFailed, UnknownInstance
from xroad.globalconf import codec
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.federation import Federation, cache_file, trusted_keys_file
from xroad.globalconf.model import GlobalConf, MemberInfo, SecurityServerInfo, Standalone
from xroad.globalconf.refresh import GlobalConfClient
from xroad.identifiers import ClientId, SecurityServerId
from xroad.proxy.peer import authenticate_peer
from xroad.proxy.tls import TrustedCas

VALIDITY = timedelta(minutes=10)
MOHA = ClientId.parse("LA/GOV/MOHA")
LA_SERVER = SecurityServerId(MOHA, "ss1")
PIN = "pin"


@pytest.fixture(scope="module")
def la_ca(tmp_path_factory: pytest.TempPathFactory, at) -> DevCa:
    return ensure_dev_ca(tmp_path_factory.mktemp("la-pki"), "LA", PIN, at)


@pytest.fixture(scope="module")
def la_signer(la_ca: DevCa, at) -> SoftwareSigner:
    key = new_key()
    cert = la_ca.issue_conf_signing_cert("LA", key.public_key(), at)
    return SoftwareSigner("la-conf", key, (cert, *la_ca.chain))


@pytest.fixture(scope="module")
def la_auth(la_ca: DevCa, at) -> bytes:
    cert = la_ca.issue_auth_cert(LA_SERVER, new_key().public_key(), at)
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def la_anchor(la_signer) -> ConfigurationAnchor:
    return ConfigurationAnchor("LA", "http://127.0.0.1:9/la", (la_signer.certificate,))


def _conf(instance: str, at, **fields) -> GlobalConf:
    base = GlobalConf(instance=instance, version=1, generated_at=at, expires_at=at + VALIDITY,
                      member_classes=("GOV",), members=(), security_servers=(),
                      approved_cas=())
    return replace(base, **fields)


@pytest.fixture(scope="module")
def la_conf(at, la_ca, la_auth) -> GlobalConf:
    server = SecurityServerInfo(LA_SERVER, "https://127.0.0.1:5600",
                                frozenset({hashlib.sha256(la_auth).hexdigest()}),
                                frozenset({ClientId.parse("LA/GOV/MOHA/civil-registry")}))
    return _conf("LA", at, members=(MemberInfo(MOHA, "MOHA", ("civil-registry",)),),
                 security_servers=(server,), approved_cas=(la_ca.root, la_ca.issuing))


@pytest.fixture
def mn_anchor(conf_signer) -> ConfigurationAnchor:
    return ConfigurationAnchor("MN", "http://127.0.0.1:9/mn", (conf_signer.certificate,))


# -- the signed configuration carries the trusted anchors -----------------------------------


def test_trusted_anchors_round_trip_and_are_content(at, la_anchor):
    plain = _conf("MN", at)
    federated = replace(plain, federated_anchors=(la_anchor,))
    assert codec.decode(codec.encode(federated)) == federated
    assert b"federated_anchors" not in codec.encode(plain)  # older documents keep their bytes
    assert codec.fingerprint(federated) != codec.fingerprint(plain)  # a new version


@pytest.mark.parametrize(("instance", "certs", "why"), [
    ("MN", 1, "own instance"),
    ("L/A", 1, "not an instance code"),
    ("LA", 0, "no verification certificate"),
], ids=["own", "bad-code", "no-keys"])
def test_a_configuration_with_an_unacceptable_anchor_is_refused(at, la_anchor, instance, certs,
                                                                 why):
    bad = replace(la_anchor, instance=instance,
                  verification_certs=la_anchor.verification_certs[:certs])
    with pytest.raises(OutdatedGlobalConf, match="malformed"):
        codec.decode(codec.encode(_conf("MN", at, federated_anchors=(bad,))))


def test_two_anchors_for_one_instance_are_refused(at, la_anchor):
    data = codec.encode(_conf("MN", at, federated_anchors=(la_anchor, la_anchor)))
    with pytest.raises(OutdatedGlobalConf, match="two federated anchors"):
        codec.decode(data)


# -- a security server follows its own configuration's anchors -------------------------------


def _federation(tmp_path: Path, at, mn_anchor, conf_signer, own: GlobalConf,
                accepted: list[GlobalConf] | None = None) -> Federation:
    clock = FixedClock(at)
    client = GlobalConfClient(mn_anchor, tmp_path / "globalconf.signed.json", clock)
    client.accept(codec.sign(codec.encode(own), conf_signer))
    seen = accepted if accepted is not None else []
    return Federation(client, tmp_path, clock, on_accept=seen.append)


def _cache(tmp_path: Path, conf: GlobalConf, signer) -> None:
    (tmp_path / cache_file(conf.instance)).write_bytes(codec.sign(codec.encode(conf), signer))


def test_a_federated_instance_is_followed_from_the_own_configuration(
        tmp_path, at, mn_anchor, conf_signer, la_anchor, la_conf, la_signer):
    _cache(tmp_path, la_conf, la_signer)
    accepted: list[GlobalConf] = []
    own = _conf("MN", at, federated_anchors=(la_anchor,))
    federation = _federation(tmp_path, at, mn_anchor, conf_signer, own, accepted)
    federation.sync()
    assert federation.instances == ("LA",)
    assert federation.current("LA", at) == la_conf
    assert federation.current("MN", at) == own
    assert federation.all(at) == (own, la_conf)
    assert accepted == [la_conf]  # the runner adds its CAs to the TLS contexts
    with pytest.raises(UnknownInstance, match="'EE' is not federated with MN"):
        federation.current("EE", at)


def test_federation_is_not_transitive(tmp_path, at, mn_anchor, conf_signer, la_anchor, la_conf,
                                      la_signer):
    ee = ConfigurationAnchor("EE", "http://127.0.0.1:9/ee", la_anchor.verification_certs)
    _cache(tmp_path, replace(la_conf, federated_anchors=(ee,)), la_signer)
    federation = _federation(tmp_path, at, mn_anchor, conf_signer,
                             _conf("MN", at, federated_anchors=(la_anchor,)))
    federation.sync()
    assert federation.instances == ("LA",)
    with pytest.raises(UnknownInstance):
        federation.current("EE", at)


def test_a_federated_configuration_must_verify_with_its_anchor(
        tmp_path, at, mn_anchor, conf_signer, la_anchor, la_conf):
    _cache(tmp_path, la_conf, conf_signer)  # signed by MN's key, not LA's
    federation = _federation(tmp_path, at, mn_anchor, conf_signer,
                             _conf("MN", at, federated_anchors=(la_anchor,)))
    federation.sync()
    with pytest.raises(OutdatedGlobalConf, match="federated instance LA: no verified"):
        federation.current("LA", at)
    assert federation.all(at)[1:] == ()


def test_expiry_of_either_configuration_stops_federated_routing(
        tmp_path, at, mn_anchor, conf_signer, la_anchor, la_conf, la_signer):
    _cache(tmp_path, replace(la_conf, expires_at=at + timedelta(minutes=1)), la_signer)
    federation = _federation(tmp_path, at, mn_anchor, conf_signer,
                             _conf("MN", at, federated_anchors=(la_anchor,)))
    federation.sync()
    later = at + timedelta(minutes=2)
    with pytest.raises(OutdatedGlobalConf, match=r"federated instance LA: .*expired"):
        federation.current("LA", later)
    with pytest.raises(OutdatedGlobalConf, match="expired"):
        federation.current("LA", at + VALIDITY)  # the own one expired: no trust to act on


def test_an_instance_dropped_from_the_own_configuration_is_forgotten(
        tmp_path, at, mn_anchor, conf_signer, la_anchor, la_conf, la_signer):
    _cache(tmp_path, la_conf, la_signer)
    (tmp_path / trusted_keys_file("LA")).write_text("{}")
    federation = _federation(tmp_path, at, mn_anchor, conf_signer,
                             _conf("MN", at, federated_anchors=(la_anchor,)))
    federation.sync()
    federation.own.accept(codec.sign(codec.encode(_conf("MN", at, version=2)), conf_signer))
    federation.sync()
    assert federation.instances == ()
    assert not (tmp_path / cache_file("LA")).exists()
    assert not (tmp_path / trusted_keys_file("LA")).exists()
    with pytest.raises(UnknownInstance):
        federation.current("LA", at)


def test_a_replaced_anchor_is_used_at_the_next_sync(
        tmp_path, at, mn_anchor, conf_signer, la_anchor, la_conf, la_signer):
    _cache(tmp_path, la_conf, la_signer)
    federation = _federation(tmp_path, at, mn_anchor, conf_signer,
                             _conf("MN", at, federated_anchors=(la_anchor,)))
    federation.sync()
    moved = replace(la_anchor, download_url="http://127.0.0.1:9/la-moved")
    federation.own.accept(codec.sign(codec.encode(
        _conf("MN", at, version=2, federated_anchors=(moved,))), conf_signer))
    with pytest.raises(OutdatedGlobalConf, match="no global configuration of federated"):
        federation.current("LA", at)  # not followed with the old anchor meanwhile
    federation.sync()
    assert federation.current("LA", at) == la_conf


def test_a_standalone_server_knows_its_own_instance_only(at):
    conf = _conf("MN", at)

    class Own:
        def current(self, at=None):
            return conf

    assert Standalone(Own()).all(at) == (conf,)
    with pytest.raises(UnknownInstance, match="'LA' is not federated with MN"):
        Standalone(Own()).current("LA", at)


# -- peers of a federated instance --------------------------------------------------------


def test_a_peer_of_a_federated_instance_is_authenticated_by_its_configuration(
        at, ca, la_conf, la_auth):
    own = _conf("MN", at, approved_cas=(ca.root, ca.issuing))
    peer = authenticate_peer(la_auth, (own, la_conf), at)
    assert peer.server.id == LA_SERVER
    assert peer.conf is la_conf
    with pytest.raises(SslAuthenticationFailed, match="not registered"):
        authenticate_peer(la_auth, (own,), at)


def test_a_peer_must_chain_to_the_cas_of_the_instance_registering_it(at, ca, la_conf, la_auth):
    lying = replace(la_conf, approved_cas=(ca.root, ca.issuing))  # MN's CAs, not LA's
    with pytest.raises(SslAuthenticationFailed, match="rejected"):
        authenticate_peer(la_auth, (lying,), at)


def test_a_configuration_speaks_only_for_its_own_instance(at, la_conf, la_auth):
    server = la_conf.security_servers[0]
    claims_mn = replace(server, id=SecurityServerId(ClientId.parse("MN/GOV/GASR"), "ss1"),
                        clients=frozenset({ClientId.parse("MN/GOV/GASR/civil-registry")}))
    lying = replace(la_conf, security_servers=(claims_mn,))
    with pytest.raises(SslAuthenticationFailed, match="not registered"):
        authenticate_peer(la_auth, (lying,), at)
    assert lying.servers_hosting(ClientId.parse("MN/GOV/GASR/civil-registry")) == []


def test_tls_contexts_take_newly_approved_cas_once(ca, la_ca):
    contexts = [ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)]
    trusted = TrustedCas(contexts, loaded=(ca.root,))
    trusted.add((ca.root, la_ca.root, la_ca.issuing))
    trusted.add((la_ca.root,))
    for ctx in contexts:
        subjects = sorted(dict(x[0] for x in c["subject"])["commonName"]
                          for c in ctx.get_ca_certs())
        assert subjects == ["LA Dev Issuing CA", "LA Dev Root CA"]  # MN's came with the context
