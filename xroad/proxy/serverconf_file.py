"""The security server's `serverconf.toml`, re-read when it changes (no restart for new rights).

A file that no longer parses is refused with a log line and the last good version stays in
force: an operator's typo must not open or close the server by accident.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import structlog

from xroad.errors import InvalidMessage
from xroad.serverconf import ServerConf, parse

log = structlog.get_logger(__name__)


class ServerConfSource(Protocol):
    def current(self) -> ServerConf: ...


@dataclass
class ServerConfFile:
    path: Path
    check_every_s: float = 1.0
    _conf: ServerConf | None = field(default=None, init=False, repr=False)
    _mtime_ns: int = field(default=-1, init=False, repr=False)
    _checked: float = field(default=0.0, init=False, repr=False)

    def current(self) -> ServerConf:
        now = time.monotonic()
        if self._conf is None or now - self._checked >= self.check_every_s:
            self._checked = now
            self._reload_if_changed()
        if self._conf is None:
            raise InvalidMessage(f"no valid serverconf at {self.path}")
        return self._conf

    def _reload_if_changed(self) -> None:
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError as e:
            self._refuse(str(e))
            return
        if mtime == self._mtime_ns:
            return
        self._mtime_ns = mtime  # a broken file is reported once, not every second
        try:
            conf = parse(self.path.read_text(encoding="utf-8"))
        except (OSError, InvalidMessage) as e:
            self._refuse(str(e))
            return
        self._conf = conf
        log.info("serverconf.loaded", path=str(self.path), services=len(conf.services),
                 access_rights=len(conf.access_rights))

    def _refuse(self, reason: str) -> None:
        if self._conf is None:
            raise InvalidMessage(f"cannot read serverconf {self.path}: {reason}")
        log.error("serverconf.reload_refused", path=str(self.path), reason=reason,
                  keeping="the last valid version")
