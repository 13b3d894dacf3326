"""Keep a verified, fresh global configuration: download, verify, cache the last good copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import structlog

from xroad.clock import Clock
from xroad.errors import OutdatedGlobalConf
from xroad.globalconf import codec
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf

log = structlog.get_logger(__name__)


@dataclass
class GlobalConfClient:
    """Holds the current global configuration of one security server."""

    anchor: ConfigurationAnchor
    cache_path: Path
    clock: Clock
    _current: GlobalConf | None = field(default=None, init=False)

    def accept(self, signed: bytes) -> GlobalConf:
        """Trust `signed` if it verifies and is not older than what we have.

        Replaying an old configuration would revive a server whose registration was removed.
        """
        conf, _ = codec.verify(signed, self.anchor.instance, list(self.anchor.verification_certs))
        if self._current is not None and conf.version < self._current.version:
            raise OutdatedGlobalConf(
                f"refusing global configuration version {conf.version} older than "
                f"{self._current.version}")
        self._current = conf
        return conf

    def load_cached(self) -> GlobalConf | None:
        try:
            return self.accept(self.cache_path.read_bytes())
        except FileNotFoundError:
            return None
        except OutdatedGlobalConf as e:
            log.warning("globalconf.cache_rejected", reason=str(e))
            return None

    async def refresh(self) -> GlobalConf:
        try:
            async with httpx.AsyncClient(timeout=10.0) as http:
                reply = await http.get(self.anchor.download_url)
        except httpx.HTTPError as e:
            raise OutdatedGlobalConf(f"central server unreachable: {type(e).__name__}") from e
        if reply.status_code != 200:
            raise OutdatedGlobalConf(f"central server answered HTTP {reply.status_code}")
        previous = None if self._current is None else self._current.version
        conf = self.accept(reply.content)
        if conf.version != previous:
            tmp = self.cache_path.with_suffix(".tmp")
            tmp.write_bytes(reply.content)
            tmp.replace(self.cache_path)
            log.info("globalconf.updated", version=conf.version,
                     expires_at=conf.expires_at.isoformat())
        return conf

    async def refresh_quietly(self) -> None:
        """Scheduler job: a failed refresh keeps the last good copy until it expires."""
        try:
            await self.refresh()
        except OutdatedGlobalConf as e:
            log.warning("globalconf.refresh_failed", reason=str(e))

    def current(self, at: datetime | None = None) -> GlobalConf:
        """The configuration to route by; `OutdatedGlobalConf` if there is none or it expired."""
        if self._current is None:
            raise OutdatedGlobalConf("no verified global configuration yet")
        self._current.ensure_fresh(at or self.clock.now())
        return self._current
