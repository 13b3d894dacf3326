"""Trusted anchors: the other instances this instance federates with (ADR 0008).

As on X-Road's central server, an administrator uploads the configuration anchor of a partner
instance; the next global configuration lists it (`federated_anchors`), and this instance's
security servers then download and verify the partner's configuration with it. Uploading an
anchor for an instance that has one replaces it (the partner's new keys or address); removing
it ends the federation at the security servers' next refresh. Each change is one transaction
with its admin audit entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xroad.central.admin_audit import record
from xroad.central.admin_auth import Principal
from xroad.central.errors import NotFound
from xroad.central.models import TrustedAnchor
from xroad.clock import Clock
from xroad.errors import BadRequest, OutdatedGlobalConf
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.codec import cert_sha256
from xroad.identifiers import is_identifier_part

MAX_ANCHOR_BYTES: Final = 32 * 1024


@dataclass(frozen=True, slots=True)
class AnchorView:
    instance: str
    download_url: str
    sha256: str  # of the anchor file as uploaded
    verification_cert_sha256: tuple[str, ...]
    added_at: datetime
    added_by: str


def parse_trusted_anchor(data: bytes, own_instance: str) -> ConfigurationAnchor:
    """The anchor in `data` if another instance may be trusted with it; `BadRequest` if not."""
    if len(data) > MAX_ANCHOR_BYTES:
        raise BadRequest(f"a configuration anchor is at most {MAX_ANCHOR_BYTES} bytes")
    try:
        anchor = ConfigurationAnchor.decode(data)
    except OutdatedGlobalConf as e:
        raise BadRequest(str(e)) from e
    if not is_identifier_part(anchor.instance):
        raise BadRequest(f"anchor names an invalid instance code {anchor.instance!r}")
    if anchor.instance == own_instance:
        raise BadRequest(f"that is the anchor of this instance ({own_instance}), not of a "
                         "federated one")
    if not anchor.verification_certs:
        raise BadRequest("anchor has no verification certificate")
    if not anchor.download_url.startswith(("http://", "https://")):
        raise BadRequest(f"anchor's download URL {anchor.download_url!r} is not http(s)")
    return anchor


def stored_anchors(s: Session) -> tuple[ConfigurationAnchor, ...]:
    """The trusted anchors, by instance (validated when they were added)."""
    rows = s.scalars(select(TrustedAnchor).order_by(TrustedAnchor.instance)).all()
    return tuple(ConfigurationAnchor.decode(r.anchor) for r in rows)


@dataclass(frozen=True)
class TrustedAnchors:
    engine: Engine
    instance: str
    clock: Clock

    def list(self) -> list[AnchorView]:
        with Session(self.engine) as s:
            rows = s.scalars(select(TrustedAnchor).order_by(TrustedAnchor.instance)).all()
            return [_view(r) for r in rows]

    def add(self, data: bytes, actor: Principal) -> AnchorView:
        """Trust `data` (an anchor file) for its instance, replacing an earlier anchor."""
        anchor = parse_trusted_anchor(data, self.instance)
        with Session(self.engine) as s, s.begin():
            row = s.get(TrustedAnchor, anchor.instance)
            before = None if row is None else _json(_view(row))
            if row is None:
                row = TrustedAnchor(instance=anchor.instance)
                s.add(row)
            row.anchor = data
            row.sha256 = hashlib.sha256(data).hexdigest()
            row.added_at = self.clock.now().astimezone(UTC).replace(tzinfo=None)
            row.added_by = actor.label
            s.flush()
            view = _view(row)
            record(s, actor, self.clock.now(), "trusted-anchor.add",
                   f"trusted-anchor:{anchor.instance}", before=before, after=_json(view))
            return view

    def remove(self, instance: str, actor: Principal) -> AnchorView:
        with Session(self.engine) as s, s.begin():
            row = s.get(TrustedAnchor, instance)
            if row is None:
                raise NotFound(f"no trusted anchor for instance {instance!r}")
            view = _view(row)
            s.delete(row)
            record(s, actor, self.clock.now(), "trusted-anchor.remove",
                   f"trusted-anchor:{instance}", before=_json(view))
            return view


def _view(row: TrustedAnchor) -> AnchorView:
    anchor = ConfigurationAnchor.decode(row.anchor)
    return AnchorView(row.instance, anchor.download_url, row.sha256,
                      tuple(cert_sha256(c) for c in anchor.verification_certs),
                      row.added_at.replace(tzinfo=UTC), row.added_by)


def _json(view: AnchorView) -> dict[str, Any]:
    return {**asdict(view), "added_at": view.added_at.isoformat()}
