"""The central server's publisher: versions only on change, prompt publication after a change,
and configuration signing key rotation from its token to a security server (ADR 0007)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from keys.token import SoftwareToken
from tests.unit.conftest import PIN
from xroad.central.app import create_central_app
from xroad.central.keys import (
    CONF_SIGNING_LABEL,
    NEXT_CONF_SIGNING_LABEL,
    RETIRED_PREFIX,
    ConfKeyError,
    TokenConfKeys,
    activate_next_key,
    anchor_for,
    announcement_period,
    discard_next_key,
    next_key,
    prepare_next_key,
)
from xroad.central.publisher import (
    ConfPublisher,
    ConfSigningKeys,
    FixedConfKeys,
    PublishedVersion,
    SqlPublishedLog,
)
from xroad.central.service import Registry
from xroad.clock import FixedClock
from xroad.demo.bootstrap import load_demo_seed
from xroad.errors import OutdatedGlobalConf
from xroad.globalconf import codec
from xroad.globalconf.model import GlobalConf, MemberInfo
from xroad.globalconf.refresh import GlobalConfClient
from xroad.identifiers import ClientId, SecurityServerId

VALIDITY = timedelta(minutes=10)
MINUTE = timedelta(minutes=1)


@dataclass
class FakeRegistry:
    """A registry whose content the test edits directly."""

    instance: str = "MN"
    members: tuple[MemberInfo, ...] = (MemberInfo(ClientId.parse("MN/GOV/GASR"), "GASR"),)

    def snapshot(self, version, at, validity):
        return GlobalConf(instance=self.instance, version=version, generated_at=at,
                          expires_at=at + validity, member_classes=("GOV",),
                          members=self.members, security_servers=(), approved_cas=())


@dataclass
class InMemoryPublishedLog:
    versions: list[PublishedVersion] = field(default_factory=list)

    def latest(self):
        return self.versions[-1] if self.versions else None

    def record(self, published):
        self.versions.append(published)


@pytest.fixture
def registry():
    return FakeRegistry()


@pytest.fixture
def publisher(registry, conf_signer, at):
    return ConfPublisher(registry, FixedConfKeys(ConfSigningKeys(conf_signer)),
                         InMemoryPublishedLog(), FixedClock(at), VALIDITY)


def _verify(signed, signer):
    return codec.verify(signed, "MN", [signer.certificate])[0]


def test_version_changes_only_with_the_content(publisher, registry, conf_signer):
    first = _verify(publisher.publish(), conf_signer)
    publisher.clock.advance(MINUTE)
    again = _verify(publisher.publish(), conf_signer)
    assert again.version == first.version == 1
    assert again.generated_at == first.generated_at + MINUTE  # re-signed: expiry moves
    assert again.expires_at == first.expires_at + MINUTE

    registry.members += (MemberInfo(ClientId.parse("MN/GOV/RTDC"), "RTDC"),)
    publisher.clock.advance(MINUTE)
    changed = _verify(publisher.publish(), conf_signer)
    assert changed.version == 2
    assert [v.version for v in publisher.published.versions] == [1, 2]  # one record a version
    assert publisher.published.versions[1].content_sha256 == codec.fingerprint(changed)
    assert publisher.published.versions[1].generated_at == changed.generated_at


def test_fingerprint_ignores_only_version_and_times(publisher, registry, conf_signer):
    conf = _verify(publisher.publish(), conf_signer)
    later = replace(conf, version=9, generated_at=conf.generated_at + MINUTE,
                    expires_at=conf.expires_at + MINUTE)
    assert codec.fingerprint(later) == codec.fingerprint(conf)
    assert codec.fingerprint(replace(conf, ocsp_freshness_s=1)) != codec.fingerprint(conf)
    assert codec.fingerprint(replace(conf, verification_certs=())) != codec.fingerprint(conf)


def test_changed_publishes_at_once(publisher, registry, conf_signer):
    publisher.publish()
    publisher.start(interval_s=3600)  # the floor alone would take an hour
    try:
        registry.members += (MemberInfo(ClientId.parse("MN/GOV/MTA"), "MTA"),)
        publisher.changed()
        deadline = time.monotonic() + 5
        while _verify(publisher.current(), conf_signer).version == 1:
            assert time.monotonic() < deadline, "no publication after changed()"
            time.sleep(0.01)
        assert _verify(publisher.current(), conf_signer).version == 2
    finally:
        publisher.stop()


def test_publication_survives_a_restart_without_a_new_version(conf_signer, tmp_path, at):
    """The version lives in `published_conf`: a restart with the same content keeps it."""
    engine = create_engine(f"sqlite:///{tmp_path / 'central.db'}")
    registry = Registry(engine, "MN")
    registry.apply_seed(load_demo_seed())
    keys = FixedConfKeys(ConfSigningKeys(conf_signer))

    def start() -> ConfPublisher:
        return ConfPublisher(registry, keys, SqlPublishedLog(engine), FixedClock(at), VALIDITY)

    assert _verify(start().publish(), conf_signer).version == 1
    assert _verify(start().publish(), conf_signer).version == 1
    registry.set_server_address(SecurityServerId.parse("MN/GOV/GASR/ss1"), "https://10.1.1.1:5500")
    assert _verify(start().publish(), conf_signer).version == 2
    assert SqlPublishedLog(engine).latest().version == 2


# -- the signing keys in the central server's token -------------------------------------------

@pytest.fixture
def token(tmp_path, conf_signer):
    """The central server's token with its current key (the anchor's certificate)."""
    token = SoftwareToken(tmp_path / "central-token")
    token.store(CONF_SIGNING_LABEL, conf_signer.private_key, list(conf_signer.chain), PIN)
    return token


@pytest.fixture
def rotating(registry, token, at):
    return ConfPublisher(registry, TokenConfKeys(token, PIN), InMemoryPublishedLog(),
                         FixedClock(at), VALIDITY)


def test_rotation_from_token_to_security_server(rotating, token, conf_signer, tmp_path, at):
    """Prepare, announce, switch: a security server follows with its original anchor."""
    anchor = anchor_for(token, "MN", "http://127.0.0.1:9/globalconf")
    assert anchor.verification_certs == (conf_signer.certificate,)
    (tmp_path / "ss").mkdir()
    server = GlobalConfClient(anchor, tmp_path / "ss" / "globalconf.signed.json",
                              FixedClock(at))
    assert server.accept(rotating.publish()).version == 1

    next_cert = prepare_next_key(token, PIN, "MN", at)
    announced = rotating.publish()
    conf = server.accept(announced)
    assert conf.version == 2  # the announcement is a change of content
    assert conf.verification_certs == (conf_signer.certificate, next_cert)
    assert server.trusted_keys.certs == (conf_signer.certificate, next_cert)
    assert rotating.latest().next_certs == (next_cert,)
    assert anchor_for(token, "MN", anchor.download_url).verification_certs[1] == next_cert

    period = announcement_period(conf_validity_s=600, conf_generation_s=60)
    with pytest.raises(ConfKeyError, match="must be announced"):
        activate_next_key(token, at + MINUTE, min_announcement=period)
    for clock in (rotating.clock, server.clock):
        clock.advance(period)
    assert activate_next_key(token, at + period, min_announcement=period) == next_cert
    assert next_key(token) is None
    assert any(label.startswith(RETIRED_PREFIX) for label in token.labels())

    switched = server.accept(rotating.publish())
    assert switched.version == 3
    assert rotating.latest().signing_cert == next_cert
    assert switched.verification_certs == (next_cert,)
    assert server.trusted_keys.certs == (next_cert,)  # the retired key is dropped
    with pytest.raises(OutdatedGlobalConf, match="not in the anchor"):
        server.accept(announced)  # replaying the old key's configuration
    assert codec.verify(rotating.current(), "MN", [next_cert])[0] == switched


def test_prepared_twice_refused(token, at):
    prepare_next_key(token, PIN, "MN", at)
    with pytest.raises(ConfKeyError, match="prepared already"):
        prepare_next_key(token, PIN, "MN", at)


def test_an_interrupted_preparation_does_not_block_the_next(token, at):
    prepare_next_key(token, PIN, "MN", at)
    token.cert_path(NEXT_CONF_SIGNING_LABEL).unlink()  # stopped before the certificate
    assert next_key(token) is None  # never announced
    cert = prepare_next_key(token, PIN, "MN", at)
    assert next_key(token).certificate == cert


def test_nothing_to_activate_or_discard(token, at):
    with pytest.raises(ConfKeyError, match="no next"):
        activate_next_key(token, at, min_announcement=timedelta(0))
    with pytest.raises(ConfKeyError, match="no next"):
        discard_next_key(token)


def test_discarded_key_is_no_longer_announced(rotating, token, at):
    rotating.publish()
    prepare_next_key(token, PIN, "MN", at)
    rotating.publish()
    assert rotating.latest().conf.version == 2
    assert len(rotating.latest().conf.verification_certs) == 2
    discard_next_key(token)
    rotating.publish()
    assert rotating.latest().conf.version == 3
    assert rotating.latest().next_certs == ()
    assert len(rotating.latest().conf.verification_certs) == 1


def test_first_key_of_a_new_instance(tmp_path, at):
    token = SoftwareToken(tmp_path / "new-token")
    cert = prepare_next_key(token, PIN, "LA", at, kind="rsa")
    assert activate_next_key(token, at, min_announcement=timedelta(hours=1)) == cert
    keys = TokenConfKeys(token, PIN).signing_keys()
    assert keys.signer.certificate == cert
    assert keys.next_certs == ()
    assert "LA" in cert.subject.rfc4514_string()


def test_key_not_matching_its_certificate_is_not_used(token, conf_signer, other_conf_signer):
    token.store_certificate(CONF_SIGNING_LABEL, list(other_conf_signer.chain))
    with pytest.raises(ConfKeyError, match="does not match"):
        TokenConfKeys(token, PIN).signing_keys()


def test_signing_keys_follow_the_token(token, conf_signer, at):
    keys = TokenConfKeys(token, PIN)
    first = keys.signing_keys().signer
    assert keys.signing_keys().signer is first  # unlocked once
    prepare_next_key(token, PIN, "MN", at)
    activate_next_key(token, at, min_announcement=timedelta(0))
    assert keys.signing_keys().signer.certificate != conf_signer.certificate


# -- the HTTP view -----------------------------------------------------------------------------

def test_status(rotating, token, conf_signer, at, tmp_path):
    app = create_central_app(rotating, Registry(create_engine(
        f"sqlite:///{tmp_path / 'c.db'}"), "MN"))
    with TestClient(app) as http:
        status = http.get("/globalconf/status").json()
        assert status["version"] == 1
        assert status["generated_at"] == at.isoformat()
        assert status["expires_at"] == (at + VALIDITY).isoformat()
        assert status["signing_key"]["cert_sha256"] == codec.cert_sha256(conf_signer.certificate)
        assert len(status["signing_key"]["key_id"]) == 64
        assert status["next_keys"] == []

        next_cert = prepare_next_key(token, PIN, "MN", at)
        rotating.publish()
        status = http.get("/globalconf/status").json()
        assert status["version"] == 2
        assert [k["cert_sha256"] for k in status["next_keys"]] == [codec.cert_sha256(next_cert)]
        signed = http.get("/globalconf")
        assert signed.headers["cache-control"] == "no-store"
        assert codec.verify(signed.content, "MN", [conf_signer.certificate])[0].version == 2
