"""Member organizations, their subsystems, and global groups: what administrators register.

Every identifier is checked against X-Road's character set by constructing it
(`xroad.identifiers`); each change is one transaction, with its admin audit entry when an
administrator made it, so a refused change leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Final

from cryptography import x509
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from xroad.central.admin_audit import record
from xroad.central.admin_auth import Principal
from xroad.central.errors import Conflict, NotFound
from xroad.central.models import (
    ApprovedCa,
    GlobalGroup,
    GlobalGroupMember,
    Member,
    MemberClass,
    SecurityServer,
    ServerClient,
    Subsystem,
)
from xroad.clock import Clock
from xroad.errors import BadRequest, UnknownMember
from xroad.identifiers import ClientId, GlobalGroupId, SecurityServerId

MAX_NAME: Final = 1000


@dataclass(frozen=True, slots=True)
class MemberClassView:
    code: str
    description: str
    auto_approve: bool


@dataclass(frozen=True, slots=True)
class HostedClient:
    client: str
    server: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class ServerView:
    id: str
    address: str
    auth_cert_sha256: tuple[str, ...]
    clients: tuple[HostedClient, ...]


@dataclass(frozen=True, slots=True)
class MemberView:
    id: str
    member_class: str
    member_code: str
    name: str
    subsystems: tuple[str, ...]
    servers: tuple[str, ...]  # the security servers it owns


@dataclass(frozen=True, slots=True)
class MemberDetail:
    member: MemberView
    owned_servers: tuple[ServerView, ...]
    registered_on: tuple[HostedClient, ...]  # where the member or a subsystem is a client


@dataclass(frozen=True, slots=True)
class GroupView:
    id: str
    code: str
    description: str
    members: tuple[str, ...]


def _member_id(instance: str, m: Member) -> ClientId:
    return ClientId(instance, m.member_class, m.member_code)


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name:
        raise BadRequest(f"a {what} needs a name")
    if len(name) > MAX_NAME or not name.isprintable():
        raise BadRequest(f"a {what}'s name is at most {MAX_NAME} printable characters")
    return name


@dataclass(frozen=True)
class Members:
    engine: Engine
    instance: str
    clock: Clock

    # -- reading ---------------------------------------------------------------------------

    def member_classes(self) -> list[MemberClassView]:
        with Session(self.engine) as s:
            return [MemberClassView(c.code, c.description, c.auto_approve)
                    for c in s.scalars(select(MemberClass).order_by(MemberClass.code))]

    def all(self) -> list[MemberView]:
        with Session(self.engine) as s:
            rows = s.scalars(select(Member).options(
                selectinload(Member.subsystems), selectinload(Member.servers))
                .order_by(Member.member_class, Member.member_code))
            return [self._view(m) for m in rows]

    def get(self, member: ClientId) -> MemberDetail:
        member = self._own(member, subsystem=False)
        with Session(self.engine) as s:
            row = self._find(s, member)
            if row is None:
                raise NotFound(f"{member} is not a member of {self.instance}")
            own = {str(member)} | {f"{member}/{sub.code}" for sub in row.subsystems}
            hosted = s.scalars(select(ServerClient).where(ServerClient.client.in_(own))).all()
            servers = {c.server_id: self._server_id(s, c.server_id) for c in hosted}
            return MemberDetail(
                self._view(row), tuple(self._server_view(srv) for srv in row.servers),
                tuple(HostedClient(c.client, servers[c.server_id], c.enabled) for c in hosted))

    def servers(self) -> list[ServerView]:
        with Session(self.engine) as s:
            rows = s.scalars(select(SecurityServer).options(
                selectinload(SecurityServer.owner), selectinload(SecurityServer.auth_certs),
                selectinload(SecurityServer.clients)).order_by(SecurityServer.id))
            return [self._server_view(srv) for srv in rows]

    def auth_certs(self, server: SecurityServerId) -> list[x509.Certificate]:
        """The authentication certificates registered for `server` (the console shows when
        they expire; global configuration carries only their hashes)."""
        owner = self._own(server.owner, subsystem=False)
        with Session(self.engine) as s:
            row = self._find(s, owner)
            found = None if row is None else next(
                (x for x in row.servers if x.server_code == server.server_code), None)
            if found is None:
                raise NotFound(f"security server {server} is not registered")
            return [x509.load_der_x509_certificate(c.der) for c in found.auth_certs]

    def global_groups(self) -> list[GroupView]:
        with Session(self.engine) as s:
            rows = s.scalars(select(GlobalGroup).options(selectinload(GlobalGroup.members))
                             .order_by(GlobalGroup.code))
            return [self._group_view(g) for g in rows]

    def approved_cas(self) -> list[x509.Certificate]:
        """The CAs whose certificates may sign management requests."""
        with Session(self.engine) as s:
            return [x509.load_der_x509_certificate(der)
                    for der in s.scalars(select(ApprovedCa.der).order_by(ApprovedCa.id))]

    # -- changing --------------------------------------------------------------------------

    def add_member(self, member: ClientId, name: str, actor: Principal | None = None
                   ) -> MemberView:
        member = self._own(member, subsystem=False)
        name = _check_name(name, "member")
        with self._change() as s:
            if s.get(MemberClass, member.member_class) is None:
                known = ", ".join(s.scalars(select(MemberClass.code).order_by(MemberClass.code)))
                raise BadRequest(f"unknown member class {member.member_class!r}; the instance "
                                 f"has: {known or 'none'}")
            existing = self._find(s, member)
            if existing is not None:
                raise Conflict(f"member {member} exists already ({existing.name})")
            row = Member(member_class=member.member_class, member_code=member.member_code,
                         name=name)
            s.add(row)
            s.flush()
            view = self._view(row)
            self._audit(s, actor, "member.add", f"member:{member}", None, asdict(view))
            return view

    def add_subsystem(self, subsystem: ClientId, actor: Principal | None = None
                      ) -> MemberView:
        subsystem = self._own(subsystem, subsystem=True)
        with self._change() as s:
            row = self._find(s, subsystem.member)
            if row is None:
                raise UnknownMember(f"{subsystem.member} is not a member of {self.instance}")
            if subsystem.subsystem_code in {sub.code for sub in row.subsystems}:
                raise Conflict(f"subsystem {subsystem} exists already")
            before = self._view(row)
            row.subsystems.append(Subsystem(code=subsystem.subsystem_code))
            s.flush()
            after = self._view(row)
            self._audit(s, actor, "subsystem.add", f"subsystem:{subsystem}",
                        asdict(before), asdict(after))
            return after

    def add_global_group(self, code: str, description: str,
                         actor: Principal | None = None) -> GroupView:
        group = GlobalGroupId(self.instance, code)
        description = description.strip()
        if len(description) > MAX_NAME or not description.isprintable():
            raise BadRequest(f"a description is at most {MAX_NAME} printable characters")
        with self._change() as s:
            if s.get(GlobalGroup, group.group_code) is not None:
                raise Conflict(f"global group {group} exists already")
            row = GlobalGroup(code=group.group_code, description=description)
            s.add(row)
            s.flush()
            view = self._group_view(row)
            self._audit(s, actor, "global-group.add", f"global-group:{group}", None,
                        asdict(view))
            return view

    def add_group_member(self, code: str, client: ClientId,
                         actor: Principal | None = None) -> GroupView:
        group = GlobalGroupId(self.instance, code)
        client = self._own(client, subsystem=None)
        with self._change() as s:
            row = s.get(GlobalGroup, group.group_code)
            if row is None:
                raise NotFound(f"no global group {group}")
            member = self._find(s, client.member)
            if member is None or (client.subsystem_code is not None and client.subsystem_code
                                  not in {sub.code for sub in member.subsystems}):
                raise UnknownMember(f"{client} is not registered in {self.instance}")
            if str(client) in {m.client for m in row.members}:
                raise Conflict(f"{client} is in {group} already")
            before = self._group_view(row)
            row.members.append(GlobalGroupMember(client=str(client)))
            s.flush()
            after = self._group_view(row)
            self._audit(s, actor, "global-group.add-member", f"global-group:{group}",
                        asdict(before), asdict(after))
            return after

    # -- helpers ---------------------------------------------------------------------------

    @contextmanager
    def _change(self) -> Iterator[Session]:
        """One transaction; a uniqueness race lost to another writer is a Conflict too."""
        try:
            with Session(self.engine) as s, s.begin():
                yield s
        except IntegrityError as e:
            raise Conflict("the registry changed meanwhile; that entry exists already") from e

    def _audit(self, s: Session, actor: Principal | None, action: str, target: str,
               before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        if actor is not None:
            record(s, actor, self.clock.now(), action, target, before=before, after=after)

    def _own(self, client: ClientId, *, subsystem: bool | None) -> ClientId:
        if client.instance != self.instance:
            raise BadRequest(f"{client} is not of instance {self.instance}")
        if subsystem is True and client.subsystem_code is None:
            raise BadRequest(f"{client} names no subsystem")
        if subsystem is False and client.subsystem_code is not None:
            raise BadRequest(f"{client} is a subsystem, not a member")
        return client

    @staticmethod
    def _find(s: Session, member: ClientId) -> Member | None:
        return s.scalars(select(Member).where(
            Member.member_class == member.member_class,
            Member.member_code == member.member_code)).one_or_none()

    def _server_id(self, s: Session, server_id: int) -> str:
        server = s.get(SecurityServer, server_id)
        if server is None:  # a foreign key guarantees it
            raise NotFound(f"no security server {server_id}")
        return str(SecurityServerId(_member_id(self.instance, server.owner), server.server_code))

    def _view(self, m: Member) -> MemberView:
        return MemberView(
            str(_member_id(self.instance, m)), m.member_class, m.member_code, m.name,
            tuple(sorted(sub.code for sub in m.subsystems)),
            tuple(sorted(str(SecurityServerId(_member_id(self.instance, m), srv.server_code))
                         for srv in m.servers)))

    def _server_view(self, srv: SecurityServer) -> ServerView:
        server_id = str(SecurityServerId(_member_id(self.instance, srv.owner), srv.server_code))
        return ServerView(server_id, srv.address,
                          tuple(sorted(c.sha256 for c in srv.auth_certs)),
                          tuple(HostedClient(c.client, server_id, c.enabled)
                                for c in sorted(srv.clients, key=lambda c: c.client)))

    def _group_view(self, g: GlobalGroup) -> GroupView:
        return GroupView(str(GlobalGroupId(self.instance, g.code)), g.code, g.description,
                         tuple(sorted(m.client for m in g.members)))

