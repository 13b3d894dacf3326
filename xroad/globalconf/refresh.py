"""Keep a verified, fresh global configuration: download, verify, cache the last good copy,
and keep the configuration signing keys it announced (ADR 0007)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import httpx
import structlog

from xroad.clock import Clock
from xroad.errors import OutdatedGlobalConf
from xroad.globalconf import trust
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf
from xroad.globalconf.trust import TrustedKeys

log = structlog.get_logger(__name__)


TRUSTED_KEYS_FILE: Final = "globalconf-trusted.json"


@dataclass
class GlobalConfClient:
    """Holds the current global configuration of one security server and the keys it trusts
    to sign the next one (`trust.py`; persisted beside the cached copy)."""

    anchor: ConfigurationAnchor
    cache_path: Path
    clock: Clock
    trusted_keys_path: Path | None = None  # default: TRUSTED_KEYS_FILE beside the cache
    _current: GlobalConf | None = field(default=None, init=False)
    _signed: bytes = field(default=b"", init=False)
    _trusted_path: Path = field(init=False)
    _trusted: TrustedKeys = field(init=False)

    def __post_init__(self) -> None:
        self._trusted_path = (self.trusted_keys_path
                              or self.cache_path.with_name(TRUSTED_KEYS_FILE))
        self._trusted = self._load_trusted(self._trusted_path)

    @property
    def trusted_keys(self) -> TrustedKeys:
        return self._trusted

    def accept(self, signed: bytes) -> GlobalConf:
        """Trust `signed` if a trusted key signed it and it is not older than what we have.

        Replaying an old configuration would revive a server whose registration was removed.
        """
        accepted = trust.accept(signed, self.anchor.instance, self._trusted, self._current,
                                self.clock.now())
        if accepted.trusted != self._trusted:
            self._save_trusted(accepted.trusted)
        self._current, self._signed = accepted.conf, signed
        return accepted.conf

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
        previous, previous_signed = self._current, self._signed
        conf = self.accept(reply.content)
        if reply.content != previous_signed:  # same version, later expiry: cache it too
            _write_atomically(self.cache_path, reply.content)
        if previous is None or conf.version != previous.version:
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

    def _load_trusted(self, path: Path) -> TrustedKeys:
        try:
            return TrustedKeys.restore(self.anchor, path.read_bytes())
        except FileNotFoundError:
            return TrustedKeys.from_anchor(self.anchor)
        except OutdatedGlobalConf as e:
            log.warning("globalconf.trusted_keys_rejected", reason=str(e), path=str(path))
            return TrustedKeys.from_anchor(self.anchor)

    def _save_trusted(self, keys: TrustedKeys) -> None:
        """Persist first: after a restart the server must still accept the announced key."""
        try:
            _write_atomically(self._trusted_path, keys.encode())
        except OSError as e:  # act on the verified configuration all the same
            log.error("globalconf.trusted_keys_not_saved", reason=str(e))
        log.info("globalconf.trusted_keys_changed", keys=list(keys.fingerprints()),
                 dropped=sorted(set(self._trusted.fingerprints()) - set(keys.fingerprints())))
        self._trusted = keys


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
