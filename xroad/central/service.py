"""Central server services: keep the registry, generate and sign global configuration."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload

from xroad.central.database import migrate
from xroad.central.federation import stored_anchors
from xroad.central.models import (
    ApprovedCa,
    AuthCert,
    EncryptionKey,
    GlobalGroup,
    GlobalGroupMember,
    Member,
    MemberClass,
    PublishedConf,
    SecurityServer,
    ServerClient,
    Subsystem,
)
from xroad.central.publisher import ConfPublisher
from xroad.central.seed import InstanceSeed
from xroad.encryption import RecipientKey, Suite
from xroad.errors import UnknownMember
from xroad.globalconf.model import GlobalConf, MemberInfo, SecurityServerInfo
from xroad.globalconf.model import GlobalGroup as GlobalGroupInfo
from xroad.identifiers import ClientId, GlobalGroupId, SecurityServerId

__all__ = ["ConfPublisher", "Registry"]  # ConfPublisher lives in publisher.py now

log = structlog.get_logger(__name__)


class Registry:
    """Members, subsystems and security servers of one instance, in the central database."""

    def __init__(self, engine: Engine, instance: str,
                 encryption_suite: Suite = Suite.X25519_AES256GCM,
                 ocsp_freshness_s: int = 3600, tsa_urls: tuple[str, ...] = ()) -> None:
        self._engine = engine
        self.instance = instance
        self.encryption_suite = encryption_suite
        self.ocsp_freshness_s = ocsp_freshness_s
        self.tsa_urls = tsa_urls
        migrate(engine)

    def apply_seed(self, seed: InstanceSeed) -> None:
        """Add whatever of `seed` is missing; running it twice changes nothing."""
        with Session(self._engine) as s, s.begin():
            for code, description in seed.member_classes:
                if s.get(MemberClass, code) is None:
                    s.add(MemberClass(code=code, description=description))
            s.flush()
            for m in seed.members:
                member = self._member(s, m.id) or Member(
                    member_class=m.id.member_class, member_code=m.id.member_code, name=m.name)
                s.add(member)
                known = {sub.code for sub in member.subsystems}
                member.subsystems.extend(Subsystem(code=c) for c in m.subsystems if c not in known)
            s.flush()
            for srv in seed.servers:
                owner = self._member(s, srv.id.owner)
                if owner is None:
                    raise UnknownMember(f"owner of {srv.id} is not a member")
                server = self._server(s, srv.id) or SecurityServer(
                    owner=owner, server_code=srv.id.server_code, address="")
                s.add(server)
                hosted = {c.client for c in server.clients}
                server.clients.extend(ServerClient(client=str(c)) for c in srv.clients
                                      if str(c) not in hosted)
            for g in seed.global_groups:
                group = s.get(GlobalGroup, g.code) or GlobalGroup(code=g.code,
                                                                  description=g.description)
                s.add(group)
                present = {m.client for m in group.members}
                group.members.extend(GlobalGroupMember(client=str(c)) for c in g.members
                                     if str(c) not in present)

    def close(self) -> None:
        self._engine.dispose()

    def _member(self, s: Session, member: ClientId) -> Member | None:
        return s.scalars(select(Member).where(
            Member.member_class == member.member_class,
            Member.member_code == member.member_code)).one_or_none()

    def _server(self, s: Session, server_id: SecurityServerId) -> SecurityServer | None:
        owner = self._member(s, server_id.owner)
        if owner is None:
            return None
        return s.scalars(select(SecurityServer).where(
            SecurityServer.owner_id == owner.id,
            SecurityServer.server_code == server_id.server_code)).one_or_none()

    def set_server_address(self, server_id: SecurityServerId, address: str) -> None:
        with Session(self._engine) as s, s.begin():
            server = self._server(s, server_id)
            if server is None:
                raise UnknownMember(f"security server {server_id} is not registered")
            server.address = address

    def add_auth_cert(self, server_id: SecurityServerId, cert: x509.Certificate) -> None:
        der = cert.public_bytes(serialization.Encoding.DER)
        digest = hashlib.sha256(der).hexdigest()
        with Session(self._engine) as s, s.begin():
            server = self._server(s, server_id)
            if server is None:
                raise UnknownMember(f"security server {server_id} is not registered")
            if s.scalars(select(AuthCert).where(AuthCert.sha256 == digest)).first() is None:
                server.auth_certs.append(AuthCert(sha256=digest, der=der))

    def set_encryption_key(self, server_id: SecurityServerId, key: RecipientKey) -> None:
        with Session(self._engine) as s, s.begin():
            server = self._server(s, server_id)
            if server is None:
                raise UnknownMember(f"security server {server_id} is not registered")
            for old in [k for k in server.encryption_keys if k.suite == int(key.suite)]:
                server.encryption_keys.remove(old)
            s.flush()
            server.encryption_keys.append(EncryptionKey(suite=int(key.suite),
                                                        public_key=key.public_bytes))

    def add_approved_ca(self, name: str, cert: x509.Certificate,
                        ocsp_url: str | None = None) -> None:
        """Approve `cert` (or update its OCSP responder URL if it is approved already)."""
        der = cert.public_bytes(serialization.Encoding.DER)
        with Session(self._engine) as s, s.begin():
            ca = s.scalars(select(ApprovedCa).where(ApprovedCa.der == der)).first()
            if ca is None:
                s.add(ApprovedCa(name=name, der=der, ocsp_url=ocsp_url))
            else:
                ca.ocsp_url = ocsp_url

    def snapshot(self, version: int, at: datetime, validity: timedelta) -> GlobalConf:
        with Session(self._engine) as s:
            members = s.scalars(select(Member).options(selectinload(Member.subsystems))
                                .order_by(Member.member_class, Member.member_code)).all()
            servers = s.scalars(select(SecurityServer).options(
                selectinload(SecurityServer.owner), selectinload(SecurityServer.auth_certs),
                selectinload(SecurityServer.clients),
                selectinload(SecurityServer.encryption_keys)).order_by(SecurityServer.id)).all()
            classes = s.scalars(select(MemberClass.code).order_by(MemberClass.code)).all()
            cas = s.scalars(select(ApprovedCa).order_by(ApprovedCa.id)).all()
            groups = s.scalars(select(GlobalGroup).options(selectinload(GlobalGroup.members))
                               .order_by(GlobalGroup.code)).all()
            return GlobalConf(
                instance=self.instance, version=version, generated_at=at,
                expires_at=at + validity, member_classes=tuple(classes),
                members=tuple(MemberInfo(
                    ClientId(self.instance, m.member_class, m.member_code), m.name,
                    tuple(sorted(sub.code for sub in m.subsystems))) for m in members),
                security_servers=tuple(SecurityServerInfo(
                    id=SecurityServerId(ClientId(self.instance, srv.owner.member_class,
                                                 srv.owner.member_code), srv.server_code),
                    address=srv.address,
                    auth_cert_hashes=frozenset(c.sha256 for c in srv.auth_certs),
                    clients=frozenset(ClientId.parse(c.client) for c in srv.clients
                                      if c.enabled),
                    encryption_keys=tuple(RecipientKey(Suite(k.suite), k.public_key)
                                          for k in sorted(srv.encryption_keys,
                                                          key=lambda k: k.suite)))
                    for srv in servers if srv.address),
                encryption_suite=self.encryption_suite,
                ocsp_freshness_s=self.ocsp_freshness_s,
                tsa_urls=self.tsa_urls,
                ocsp_responders=tuple((hashlib.sha256(ca.der).hexdigest(), ca.ocsp_url)
                                      for ca in cas if ca.ocsp_url),
                approved_cas=tuple(x509.load_der_x509_certificate(ca.der) for ca in cas),
                global_groups=tuple(GlobalGroupInfo(
                    GlobalGroupId(self.instance, g.code), g.description,
                    frozenset(ClientId.parse(m.client) for m in g.members)) for g in groups),
                federated_anchors=stored_anchors(s),
            )

    def latest_version(self) -> int:
        with Session(self._engine) as s:
            return int(s.scalar(select(func.coalesce(func.max(PublishedConf.version), 0))) or 0)

    def record_published(self, version: int, at: datetime, content: bytes) -> None:
        with Session(self._engine) as s, s.begin():
            s.add(PublishedConf(version=version, generated_at=at,
                                content_sha256=hashlib.sha256(content).hexdigest()))
