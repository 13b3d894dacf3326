"""The global configuration as typed, frozen values (pure)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from xroad.encryption import RecipientKey, Suite
from xroad.errors import CertificateError, OutdatedGlobalConf, UnknownInstance, UnknownMember
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.identifiers import ClientId, GlobalGroupId, SecurityServerId


@dataclass(frozen=True, slots=True)
class MemberInfo:
    id: ClientId
    name: str
    subsystems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SecurityServerInfo:
    id: SecurityServerId
    address: str  # base URL of the server proxy's mutual-TLS endpoint, e.g. https://host:5500
    auth_cert_hashes: frozenset[str]  # hex SHA-256 of the registered authentication certificates
    clients: frozenset[ClientId]
    encryption_keys: tuple[RecipientKey, ...] = ()

    def encryption_key(self, suite: Suite) -> RecipientKey:
        for key in self.encryption_keys:
            if key.suite is suite:
                return key
        raise OutdatedGlobalConf(f"security server {self.id} publishes no {suite.name} key")


@dataclass(frozen=True, slots=True)
class GlobalGroup:
    id: GlobalGroupId
    description: str
    members: frozenset[ClientId]


@dataclass(frozen=True, slots=True)
class GlobalConf:
    instance: str
    version: int  # increases when the content changes; an older one is never accepted again
    generated_at: datetime
    expires_at: datetime
    member_classes: tuple[str, ...]
    members: tuple[MemberInfo, ...]
    security_servers: tuple[SecurityServerInfo, ...]
    approved_cas: tuple[x509.Certificate, ...] = field(repr=False)
    ocsp_freshness_s: int = 3600
    global_groups: tuple[GlobalGroup, ...] = ()
    encryption_suite: Suite = Suite.X25519_AES256GCM
    ocsp_responders: tuple[tuple[str, str], ...] = ()  # (hex SHA-256 of a CA cert, URL)
    tsa_urls: tuple[str, ...] = ()  # approved time-stamping authorities (RFC 3161)
    # Certificates whose keys may sign this instance's configuration: the current one and any
    # announced next key (X-Road: source/internalVerificationCert). See ADR 0007.
    verification_certs: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    # Anchors of other instances this instance trusts (X-Road: trusted anchors, distributed in
    # private parameters). Not transitive: only a server's *own* configuration's list counts.
    federated_anchors: tuple[ConfigurationAnchor, ...] = field(default=(), repr=False)

    def ocsp_url_for(self, issuer: x509.Certificate) -> str:
        """Where to ask about certificates `issuer` issued (X-Road: approvedCA/ocsp/url)."""
        digest = hashlib.sha256(issuer.public_bytes(serialization.Encoding.DER)).hexdigest()
        for ca, url in self.ocsp_responders:
            if ca == digest:
                return url
        raise CertificateError(
            f"global configuration names no OCSP responder for '{issuer.subject.rfc4514_string()}'")

    def global_group_members(self) -> dict[GlobalGroupId, frozenset[ClientId]]:
        return {g.id: g.members for g in self.global_groups}

    def ensure_fresh(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("naive datetime")
        if at >= self.expires_at:
            raise OutdatedGlobalConf(
                f"global configuration expired at {self.expires_at.isoformat()}")

    def member(self, member: ClientId) -> MemberInfo:
        for info in self.members:
            if info.id == member.member:
                return info
        raise UnknownMember(f"{member.member} is not a member of instance {self.instance}")

    def is_known_client(self, client: ClientId) -> bool:
        try:
            info = self.member(client)
        except UnknownMember:
            return False
        return client.subsystem_code is None or client.subsystem_code in info.subsystems

    def server(self, server_id: SecurityServerId) -> SecurityServerInfo:
        for info in self.security_servers:
            if info.id == server_id:
                return info
        raise UnknownMember(f"security server {server_id} is not registered")

    def servers_hosting(self, client: ClientId) -> list[SecurityServerInfo]:
        """Servers of this instance hosting `client` (a configuration speaks only for its own
        instance: a server or client of another one listed here is ignored)."""
        if client.instance != self.instance:
            return []
        return [s for s in self.security_servers
                if client in s.clients and s.id.owner.instance == self.instance]

    def server_by_auth_cert(self, cert_hash: str) -> SecurityServerInfo | None:
        return next((s for s in self.security_servers if cert_hash in s.auth_cert_hashes
                     and s.id.owner.instance == self.instance), None)

    def federated_anchor(self, instance: str) -> ConfigurationAnchor | None:
        return next((a for a in self.federated_anchors if a.instance == instance), None)


class GlobalConfSource(Protocol):
    def current(self, at: datetime | None = None) -> GlobalConf:
        """The verified configuration to act on; `OutdatedGlobalConf` if none is fresh."""
        ...


class FederationSource(Protocol):
    """The configurations of this server's own instance and of the instances it federates with.

    Trust in another instance flows only from the own configuration's trusted anchors.
    """

    def current(self, instance: str, at: datetime) -> GlobalConf:
        """The verified, fresh configuration of `instance`: `UnknownInstance` if neither this
        instance nor a federated one, `OutdatedGlobalConf` if it is missing or expired."""
        ...

    def all(self, at: datetime) -> tuple[GlobalConf, ...]:
        """The own configuration (fresh, else `OutdatedGlobalConf`), then every federated one
        that is fresh now."""
        ...


@dataclass(frozen=True, slots=True)
class Standalone:
    """A security server of one instance, federated with none."""

    own: GlobalConfSource

    def current(self, instance: str, at: datetime) -> GlobalConf:
        conf = self.own.current(at)
        if instance != conf.instance:
            raise UnknownInstance(f"instance {instance!r} is not federated with {conf.instance}")
        return conf

    def all(self, at: datetime) -> tuple[GlobalConf, ...]:
        return (self.own.current(at),)
