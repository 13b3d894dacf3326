"""Trusted anchors on the central server (ADR 0008): the admin API that keeps them, its refusals
and audit trail, and the global configuration that carries them to security servers."""

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from xroad.central.admin_api import admin_services, mount_admin_api
from xroad.central.roles import Role
from xroad.central.service import Registry
from xroad.clock import FixedClock
from xroad.globalconf import codec
from xroad.globalconf.anchor import ConfigurationAnchor

URL = "/api/v1/trusted-anchors"


@pytest.fixture
def world(tmp_path, at):
    engine = create_engine(f"sqlite:///{tmp_path}/central.db")
    registry = Registry(engine, "MN")
    changes: list[int] = []
    services = admin_services(engine, FixedClock(at), "MN", on_change=lambda: changes.append(1))
    app = FastAPI()
    mount_admin_api(app, services)
    tokens = {role: services.keys.create(role, f"test {role}").token for role in Role}
    return {"client": TestClient(app), "tokens": tokens, "changes": changes,
            "registry": registry, "at": at}


def _as(world, role=Role.ADMINISTRATOR):
    return {"Authorization": f"X-Road-ApiKey token={world['tokens'][role]}"}


def _anchor(signer, instance="LA", url="http://127.0.0.1:4010/globalconf") -> str:
    return ConfigurationAnchor(instance, url, (signer.certificate,)).encode().decode()


def _snapshot(world):
    return world["registry"].snapshot(0, world["at"], timedelta(minutes=10))


def test_an_added_anchor_is_listed_and_published(world, other_conf_signer):
    before = _snapshot(world)
    reply = world["client"].post(URL, json={"anchor": _anchor(other_conf_signer)},
                                 headers=_as(world))
    assert reply.status_code == 201, reply.text
    added = reply.json()
    assert added["instance"] == "LA"
    assert added["download_url"] == "http://127.0.0.1:4010/globalconf"
    assert added["verification_cert_sha256"] == [codec.cert_sha256(other_conf_signer.certificate)]
    assert world["changes"] == [1]  # published at once
    listed = world["client"].get(URL, headers=_as(world, Role.AUDITOR)).json()
    assert listed == [added]
    conf = _snapshot(world)
    assert [(a.instance, a.download_url) for a in conf.federated_anchors] == [
        ("LA", "http://127.0.0.1:4010/globalconf")]
    assert codec.fingerprint(conf) != codec.fingerprint(before)  # a new version


def test_a_new_anchor_replaces_the_old_one_and_removal_ends_it(world, other_conf_signer):
    client = world["client"]
    client.post(URL, json={"anchor": _anchor(other_conf_signer)}, headers=_as(world))
    moved = _anchor(other_conf_signer, url="https://la.example/globalconf")
    assert client.post(URL, json={"anchor": moved}, headers=_as(world)).status_code == 201
    assert [a.download_url for a in _snapshot(world).federated_anchors] == [
        "https://la.example/globalconf"]
    removed = client.delete(f"{URL}/LA", headers=_as(world))
    assert removed.status_code == 200, removed.text
    assert _snapshot(world).federated_anchors == ()
    assert client.delete(f"{URL}/LA", headers=_as(world)).status_code == 404
    trail = client.get("/api/v1/admin-audit", headers=_as(world, Role.AUDITOR)).json()
    assert [e["action"] for e in trail["entries"]] == [
        "trusted-anchor.remove", "trusted-anchor.add", "trusted-anchor.add"]
    assert trail["entries"][1]["before"]["download_url"] == "http://127.0.0.1:4010/globalconf"


@pytest.mark.parametrize(("anchor", "message"), [
    ("not json", "malformed"),
    ('{"instance": "LA", "download_url": "http://x/", "verification_certs": []}',
     "no verification certificate"),
], ids=["malformed", "no-keys"])
def test_bad_anchors_are_refused(world, anchor, message):
    reply = world["client"].post(URL, json={"anchor": anchor}, headers=_as(world))
    assert reply.status_code == 400
    assert message in reply.json()["message"]
    assert world["client"].get(URL, headers=_as(world)).json() == []


def test_the_own_instance_and_odd_urls_are_refused(world, conf_signer):
    own = world["client"].post(URL, json={"anchor": _anchor(conf_signer, instance="MN")},
                               headers=_as(world))
    assert own.status_code == 400
    assert "anchor of this instance (MN)" in own.json()["message"]
    ftp = world["client"].post(URL, json={"anchor": _anchor(conf_signer, url="ftp://x/")},
                               headers=_as(world))
    assert ftp.status_code == 400
    assert "not http(s)" in ftp.json()["message"]


@pytest.mark.parametrize("role", [Role.REGISTRATION_OFFICER, Role.AUDITOR])
def test_only_administrators_change_trust(world, other_conf_signer, role):
    reply = world["client"].post(URL, json={"anchor": _anchor(other_conf_signer)},
                                 headers=_as(world, role))
    assert reply.status_code == 403
    assert world["changes"] == []
