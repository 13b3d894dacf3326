"""Global configurations of the instances this security server's instance federates with.

X-Road's configuration client downloads, beside its own instance's configuration, that of every
instance whose anchor the own central server lists as trusted (ADR 0008). Here:

1. Trust in another instance flows only from the *own* verified configuration: its
   `federated_anchors`. A federated configuration's own list is ignored (not transitive), and
   an instance dropped from the own list is dropped here, with its cached copy.
2. Each federated instance gets a `GlobalConfClient` of its own (the same checks as for the own
   instance: signature by an anchored or announced key, instance, no rollback, expiry), with
   `globalconf-<INSTANCE>.signed.json` and `globalconf-trusted-<INSTANCE>.json` beside the
   own copy, refreshed on the own schedule.
3. Routing needs the own configuration fresh as well: an expired own copy can no longer say
   whom to trust.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import structlog

from xroad.clock import Clock
from xroad.errors import OutdatedGlobalConf, UnknownInstance
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.model import GlobalConf
from xroad.globalconf.refresh import GlobalConfClient

log = structlog.get_logger(__name__)


def cache_file(instance: str) -> str:
    return f"globalconf-{instance}.signed.json"


def trusted_keys_file(instance: str) -> str:
    return f"globalconf-trusted-{instance}.json"


def _ignore(_: GlobalConf) -> None:
    return None


@dataclass
class Federation:
    """The own configuration client plus one per federated instance (`FederationSource`).

    `on_accept` sees every configuration accepted, own or federated (the runner adds their
    approved CAs to the live TLS contexts).
    """

    own: GlobalConfClient
    directory: Path  # where the federated copies are cached (beside the own one)
    clock: Clock
    on_accept: Callable[[GlobalConf], None] = field(default=_ignore)
    _clients: dict[str, GlobalConfClient] = field(default_factory=dict, init=False)

    # -- FederationSource ------------------------------------------------------------------

    def current(self, instance: str, at: datetime) -> GlobalConf:
        own = self.own.current(at)
        if instance == own.instance:
            return own
        anchor = own.federated_anchor(instance)
        if anchor is None:
            raise UnknownInstance(
                f"instance {instance!r} is not federated with {own.instance}: its central "
                "server lists no trusted anchor for it")
        client = self._clients.get(instance)
        if client is None or client.anchor != anchor:
            raise OutdatedGlobalConf(
                f"no global configuration of federated instance {instance} yet")
        try:
            return client.current(at)
        except OutdatedGlobalConf as e:
            raise OutdatedGlobalConf(f"federated instance {instance}: {e}") from e

    def all(self, at: datetime) -> tuple[GlobalConf, ...]:
        own = self.own.current(at)
        confs = [own]
        for instance in sorted(self._clients):
            try:
                confs.append(self.current(instance, at))
            except (OutdatedGlobalConf, UnknownInstance):
                continue
        return tuple(confs)

    # -- keeping up ------------------------------------------------------------------------

    @property
    def instances(self) -> tuple[str, ...]:
        """The federated instances followed now."""
        return tuple(sorted(self._clients))

    def sync(self) -> None:
        """Follow the own configuration's trusted anchors (rule 1): a client for each listed
        instance, starting from its cached copy; none for an instance no longer listed.

        An expired own configuration changes nothing (and `current` refuses anyway).
        """
        try:
            own = self.own.current(self.clock.now())
        except OutdatedGlobalConf:
            return
        wanted = {a.instance: a for a in own.federated_anchors}
        for instance in sorted(set(self._clients) - set(wanted)):
            self._drop(instance)
        for instance, anchor in sorted(wanted.items()):
            client = self._clients.get(instance)
            if client is None or client.anchor != anchor:
                self._clients[instance] = self._client(anchor)
                log.info("federation.instance_added", instance=instance,
                         download_url=anchor.download_url, replaced=client is not None)

    async def refresh(self) -> None:
        """The own configuration, then every federated one."""
        await self.refresh_own()
        await self.refresh_federated()

    async def refresh_own(self) -> None:
        """Scheduler job: a failure keeps the last good copy until it expires."""
        try:
            self.on_accept(await self.own.refresh())
        except OutdatedGlobalConf as e:
            log.warning("globalconf.refresh_failed", reason=str(e))

    async def refresh_federated(self) -> None:
        """Scheduler job (apart from the own one, which a partner's slow central server must
        not hold up): follow the own list, then download each federated configuration; one
        instance's outage never holds up another."""
        self.sync()
        await asyncio.gather(*(self._refresh(instance, client)
                               for instance, client in sorted(self._clients.items())))

    async def _refresh(self, instance: str, client: GlobalConfClient) -> None:
        try:
            self.on_accept(await client.refresh())
        except OutdatedGlobalConf as e:
            log.warning("globalconf.refresh_failed", instance=instance, reason=str(e))

    def _client(self, anchor: ConfigurationAnchor) -> GlobalConfClient:
        client = GlobalConfClient(
            anchor, self.directory / cache_file(anchor.instance), self.clock,
            trusted_keys_path=self.directory / trusted_keys_file(anchor.instance))
        cached = client.load_cached()
        if cached is not None:
            self.on_accept(cached)
        return client

    def _drop(self, instance: str) -> None:
        """The own central server no longer trusts `instance`: forget it and its copies."""
        del self._clients[instance]
        for name in (cache_file(instance), trusted_keys_file(instance)):
            try:
                (self.directory / name).unlink(missing_ok=True)
            except OSError as e:  # refused all the same: it is not followed any more
                log.warning("federation.cache_not_removed", instance=instance, reason=str(e))
        log.info("federation.instance_dropped", instance=instance)
