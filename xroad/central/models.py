"""The central server's registry: members, subsystems, security servers, trust services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class MemberClass(Base):
    __tablename__ = "member_class"
    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    # Registration requests of members of this class are approved without an officer
    # (test instances); the instance-wide switch is a setting.
    auto_approve: Mapped[bool] = mapped_column(default=False)


class Member(Base):
    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("member_class", "member_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_class: Mapped[str] = mapped_column(ForeignKey("member_class.code"))
    member_code: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(1000))
    subsystems: Mapped[list[Subsystem]] = relationship(back_populates="member",
                                                       cascade="all, delete-orphan")
    servers: Mapped[list[SecurityServer]] = relationship(back_populates="owner")


class Subsystem(Base):
    __tablename__ = "subsystem"
    __table_args__ = (UniqueConstraint("member_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    code: Mapped[str] = mapped_column(String(255))
    member: Mapped[Member] = relationship(back_populates="subsystems")


class SecurityServer(Base):
    __tablename__ = "security_server"
    __table_args__ = (UniqueConstraint("owner_id", "server_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    server_code: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(1000))
    owner: Mapped[Member] = relationship(back_populates="servers")
    auth_certs: Mapped[list[AuthCert]] = relationship(cascade="all, delete-orphan")
    encryption_keys: Mapped[list[EncryptionKey]] = relationship(cascade="all, delete-orphan")
    clients: Mapped[list[ServerClient]] = relationship(cascade="all, delete-orphan")


class AuthCert(Base):
    __tablename__ = "auth_cert"
    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("security_server.id"))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)


class EncryptionKey(Base):
    """A security server's public key for message encryption, one per suite."""

    __tablename__ = "encryption_key"
    __table_args__ = (UniqueConstraint("server_id", "suite"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("security_server.id"))
    suite: Mapped[int]
    public_key: Mapped[bytes] = mapped_column(LargeBinary)


class ServerClient(Base):
    """A member or subsystem hosted by a security server (text identifier)."""

    __tablename__ = "server_client"
    __table_args__ = (UniqueConstraint("server_id", "client"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("security_server.id"))
    client: Mapped[str] = mapped_column(String(1000))
    enabled: Mapped[bool] = mapped_column(default=True)  # X-Road client disable/enable


class ApprovedCa(Base):
    __tablename__ = "approved_ca"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(1000))
    der: Mapped[bytes] = mapped_column(LargeBinary)
    ocsp_url: Mapped[str | None] = mapped_column(String(1000), default=None)


class PublishedConf(Base):
    """Every global configuration ever published, so versions only grow and can be audited."""

    __tablename__ = "published_conf"
    version: Mapped[int] = mapped_column(primary_key=True)
    generated_at: Mapped[datetime]
    content_sha256: Mapped[str] = mapped_column(String(64))


class GlobalGroup(Base):
    __tablename__ = "global_group"
    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    members: Mapped[list[GlobalGroupMember]] = relationship(cascade="all, delete-orphan")


class GlobalGroupMember(Base):
    __tablename__ = "global_group_member"
    __table_args__ = (UniqueConstraint("group_code", "client"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_code: Mapped[str] = mapped_column(ForeignKey("global_group.code"))
    client: Mapped[str] = mapped_column(String(1000))


class RegistrationRequest(Base):
    """A management request as X-Road has them: submitted signed by a security server's owner
    (or a client member), or made by the central administration; complementary requests from
    both sides are matched, and an officer (or the auto-approval policy) decides."""

    __tablename__ = "registration_request"
    __table_args__ = (Index("registration_request_status", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # RequestKind
    origin: Mapped[str] = mapped_column(String(32))  # security-server | center
    server: Mapped[str] = mapped_column(String(1000))  # SecurityServerId text
    client: Mapped[str | None] = mapped_column(String(1000), default=None)
    address: Mapped[str | None] = mapped_column(String(1000), default=None)
    auth_cert: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    status: Mapped[str] = mapped_column(String(16))  # RequestStatus
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # the exact bytes signed
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # CMS
    proof_of_possession: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    signer: Mapped[str | None] = mapped_column(String(1000), default=None)  # member
    submitted_by: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str] = mapped_column(String(4000), default="")
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(255), default=None)
    complement_id: Mapped[int | None] = mapped_column(ForeignKey("registration_request.id"),
                                                      default=None)
    events: Mapped[list[RequestEvent]] = relationship(cascade="all, delete-orphan",
                                                      order_by="RequestEvent.id")


class RequestEvent(Base):
    """The history of a registration request: who did what, when, and why."""

    __tablename__ = "registration_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("registration_request.id"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(String(4000), default="")


class AdminApiKey(Base):
    """An administrator's API key (only its SHA-256 is kept) and the role it grants."""

    __tablename__ = "admin_api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)  # shown instead of the key
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AdminAuditEntry(Base):
    """Every change made through the admin API: who, what, when, before and after."""

    __tablename__ = "admin_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(1000))
    before: Mapped[str | None] = mapped_column(Text, default=None)  # JSON
    after: Mapped[str | None] = mapped_column(Text, default=None)  # JSON


class TimestampingAuthority(Base):
    __tablename__ = "timestamping_authority"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(1000))
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    der: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class TrustedAnchor(Base):
    """The configuration anchor of another instance this one federates with (X-Road: trusted
    anchor), kept as uploaded; its instance, URL and keys go into global configuration."""

    __tablename__ = "trusted_anchor"
    instance: Mapped[str] = mapped_column(String(255), primary_key=True)
    anchor: Mapped[bytes] = mapped_column(LargeBinary)  # the anchor file's exact bytes
    sha256: Mapped[str] = mapped_column(String(64))  # of those bytes, as X-Road shows it
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(255))
