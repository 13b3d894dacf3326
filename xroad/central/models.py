"""The central server's registry: members, subsystems, security servers, trust services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class MemberClass(Base):
    __tablename__ = "member_class"
    code: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str] = mapped_column(String(1000), default="")


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
