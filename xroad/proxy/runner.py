"""Wire up and run one security server process (both listeners) from its settings."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import ssl
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.archive import archive_older_than
from audit.bodies import BodyVault
from audit.checkpointer import Checkpointer, TimestampGuard, key_name
from audit.export import ServerLog
from audit.group_commit import GroupCommitter
from audit.store import SqlAuditStore
from audit.subjects import SubjectIndex
from keys import sealed
from keys.active import ActiveSigningKeys
from keys.encryption_seed import encryption_keypairs
from keys.ocsp import OcspCache, fetch_ocsp
from keys.pkcs11_token import Pkcs11Token
from keys.profiles import KeyUsage
from keys.token import SoftwareToken, TokenLocked
from keys.tsa import request_timestamp
from xroad.clock import Clock, SystemClock
from xroad.encryption import KeyPair, key_id
from xroad.errors import OutdatedGlobalConf, TransportError, XRoadError
from xroad.globalconf.anchor import ConfigurationAnchor
from xroad.globalconf.federation import Federation
from xroad.globalconf.model import GlobalConf
from xroad.globalconf.refresh import GlobalConfClient
from xroad.identifiers import ClientId, SecurityServerId
from xroad.limits import Limits
from xroad.proxy import tls
from xroad.proxy.admin_app import ApiKey, Role, create_admin_app
from xroad.proxy.app import connection_limits, create_client_app, create_server_app
from xroad.proxy.audit_api import AuditAccess
from xroad.proxy.client_proxy import ClientProxy
from xroad.proxy.cluster import (
    ARCHIVE_LOCK,
    CHECKPOINT_LOCK,
    ClusterCheckpointer,
    ClusterMisconfigured,
    DatabaseLock,
    check_shared_log,
    first_start_lock,
    schema_turn,
    write_if_changed,
)
from xroad.proxy.context import SecurityServer
from xroad.proxy.heap import return_large_buffers_to_the_system
from xroad.proxy.http import PeerClient, ServiceClient
from xroad.proxy.layout import (
    AUDIT_BODY_SEED_FILE,
    AUDIT_LOG_PUBLIC_KEY_FILE,
    AUDIT_LOG_SEED_FILE,
    AUDIT_SUBJECT_SEED_FILE,
    AUTH_KEY_LABEL,
    SERVERCONF_FILE,
)
from xroad.proxy.monitoring import Monitor
from xroad.proxy.ocsp_source import CachedOcspSource, OcspCacheFactory
from xroad.proxy.replay_store import SqlReplayGuard
from xroad.proxy.server_proxy import ServerProxy
from xroad.proxy.serverconf_file import ServerConfFile, ServerConfSource
from xroad.settings import SecurityServerSettings
from xroad.signing.profile import member_of_signing_cert
from xroad.signing.signer import Signer

log = structlog.get_logger(__name__)

_STARTUP_CONF_WAIT_S = 30.0
_CACHED_CONF_GRACE_S = 5.0
_FEDERATED_CONF_WAIT_S = 10.0


def hsm_signers(settings: SecurityServerSettings) -> tuple[dict[ClientId, Signer],
                                                             Pkcs11Token | None]:
    """Signing keys with certificates in the configured PKCS#11 token, by member."""
    if settings.pkcs11_module is None:
        return {}, None
    if settings.pkcs11_token_label is None or settings.pkcs11_pin is None:
        raise TokenLocked("XROAD_SS_PKCS11_TOKEN_LABEL and XROAD_SS_PKCS11_PIN are needed "
                          "with XROAD_SS_PKCS11_MODULE")
    token = Pkcs11Token.open(settings.pkcs11_module, settings.pkcs11_token_label,
                             settings.pkcs11_pin.get_secret_value())
    signers: dict[ClientId, Signer] = {}
    for entry in token.entries():
        if entry.usage is KeyUsage.SIGNING and entry.certificate is not None:
            signers[member_of_signing_cert(entry.certificate)] = token.signer(entry.label)
    log.info("hsm.signing_keys", members=sorted(str(m) for m in signers))
    return signers, token


async def _first_globalconf(confs: GlobalConfClient) -> None:
    """Download a fresh configuration at start; use the cached copy only if that fails.

    The cache may be minutes old: peers' addresses and responders may have moved since.
    """
    have_cached = confs.load_cached() is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (_CACHED_CONF_GRACE_S if have_cached else _STARTUP_CONF_WAIT_S)
    while True:
        try:
            await confs.refresh()
            return
        except OutdatedGlobalConf as e:
            if loop.time() > deadline:
                log.warning("globalconf.unavailable_at_start", reason=str(e),
                            using_cached=have_cached)
                return  # with no fresh copy every exchange is refused with OutdatedGlobalConf
            await asyncio.sleep(0.5)


async def _first_federated(federation: Federation) -> None:
    """Federated instances' configurations at start, waiting a little: another instance's
    central server being down must not hold this server up (the schedule tries again)."""
    try:
        await asyncio.wait_for(federation.refresh_federated(), _FEDERATED_CONF_WAIT_S)
    except TimeoutError:
        log.warning("federation.unavailable_at_start", instances=list(federation.instances))


def _ocsp_cache(confs: GlobalConfClient, clock: Clock) -> OcspCacheFactory:
    """OCSP responses fetched from the responder the *current* global configuration names."""
    def make(conf: GlobalConf) -> OcspCache:
        def fetch(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
            return fetch_ocsp(confs.current().ocsp_url_for(issuer), cert, issuer)
        return OcspCache(fetch, conf.approved_cas, clock, freshness_s=conf.ocsp_freshness_s)
    return make


def _sealed_secret(token: SoftwareToken, name: str, pin: str) -> bytes:
    """A 32-byte secret of this server, made on first start and sealed with the token PIN."""
    path = token.directory / name
    if not path.exists():
        sealed.seal(path, os.urandom(32), pin)
    return sealed.unseal(path, pin)


def _audit_log_key(token: SoftwareToken, pin: str, data_dir: Path) -> ed25519.Ed25519PrivateKey:
    """The key that signs this server's audit checkpoints: made on first start, sealed with
    the token PIN; its public half is written beside the token for auditors."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(
        _sealed_secret(token, AUDIT_LOG_SEED_FILE, pin))
    write_if_changed(data_dir / AUDIT_LOG_PUBLIC_KEY_FILE,
                     base64.b64encode(key.public_key().public_bytes_raw()).decode() + "\n")
    return key


def _stamper(confs: GlobalConfClient) -> Callable[[bytes], bytes]:
    """Time-stamps from the first TSA global configuration approves."""
    def stamp(digest: bytes) -> bytes:
        urls = confs.current().tsa_urls
        if not urls:
            raise TransportError("global configuration names no time-stamping authority")
        return request_timestamp(urls[0], digest)
    return stamp


def _seal_quietly(checkpointer: Checkpointer, stamp: Callable[[bytes], bytes],
                  guard: TimestampGuard) -> None:
    """Scheduler job: a TSA outage is logged and counted against the tolerance; the next
    run stamps the newest checkpoint."""
    try:
        checkpointer.seal(stamp)
    except XRoadError as e:
        guard.failed(str(e))
        log.warning("audit.timestamp_failed", reason=str(e))
    except Exception as e:  # a bug or a database failure: counted too, never silent
        guard.failed(f"internal error: {type(e).__name__}")
        log.error("audit.timestamp_failed", exc_info=e)
    else:
        guard.succeeded()


def _hosts(serverconf: ServerConfSource) -> Callable[[str], bool]:
    """Whether a client (by its identifier text) is hosted on this server, as configured now."""
    def hosts(client: str) -> bool:
        try:
            return ClientId.parse(client) in serverconf.current().clients
        except XRoadError:
            return False
    return hosts


def _archive_quietly(store: SqlAuditStore, server: ServerLog, directory: Path, days: int,
                     clock: Clock, turn: DatabaseLock) -> None:
    """Scheduler job: records past retention move to the next archive bundle; a failure is
    logged and leaves the live log as it was (tried again the next day). Cluster nodes take
    turns: the second finds the records archived already."""
    now = clock.now()
    try:
        with turn.held():
            archive_older_than(store, server, directory, now - timedelta(days=days), now)
    except (XRoadError, OSError) as e:
        log.warning("audit.archive_failed", reason=str(e))


def _monitor(confs: GlobalConfClient, audit: SqlAuditStore, guard: TimestampGuard,
             clock: Clock) -> Monitor:
    """Metrics for `GET /metrics` on the admin API; the gauges are read at scrape time."""
    monitor = Monitor()

    def globalconf_expiry() -> float | None:
        try:
            return confs.current().expires_at.timestamp()
        except OutdatedGlobalConf:
            return None  # none yet, or expired: the series disappears (alert on absent())

    def since_timestamped() -> float | None:
        last = guard.last_success
        return None if last is None else (clock.now() - last).total_seconds()

    monitor.add_gauge("xroad_globalconf_expiry_timestamp_seconds",
                      "When the current global configuration expires (unix time)",
                      globalconf_expiry)
    monitor.add_gauge("xroad_audit_last_timestamped_age_seconds",
                      "Seconds since the audit log was last time-stamped (or since the first "
                      "failed attempt, if none succeeded yet)", since_timestamped)
    monitor.add_gauge("xroad_audit_timestamp_tolerance_seconds",
                      "How long time-stamping may fail before exchanges are refused",
                      guard.tolerance.total_seconds)
    monitor.add_gauge("xroad_audit_log_records", "Records in the audit log", audit.size)
    return monitor


async def _start_admin(settings: SecurityServerSettings, checkpointer: Checkpointer,
                       stamp: Callable[[bytes], bytes], monitor: Monitor,
                       audit: AuditAccess) -> web.AppRunner | None:
    keys = tuple(ApiKey.of(secret.get_secret_value(), role) for secret, role in (
        (settings.admin_api_key, Role.SERVICE_ADMINISTRATOR),
        (settings.observer_api_key, Role.OBSERVER),
        (settings.auditor_api_key, Role.AUDITOR),
        (settings.data_access_api_key, Role.DATA_ACCESS_VIEWER)) if secret is not None)
    if settings.admin_port is None or not keys:
        return None
    runner = web.AppRunner(create_admin_app(settings.data_dir / SERVERCONF_FILE, keys,
                                            checkpointer, stamp, monitor=monitor, audit=audit),
                           access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.admin_host, settings.admin_port).start()
    log.info("admin_api.started", url=f"http://{settings.admin_host}:{settings.admin_port}")
    return runner


def _encryption_keys(token: SoftwareToken, pin: str) -> dict[bytes, KeyPair]:
    return {key_id(p.public_bytes): p for p in encryption_keypairs(token.directory, pin)}


def _tls_trust(confs: GlobalConfClient, settings: SecurityServerSettings) -> str:
    """Approved CAs from global configuration; the bootstrap copy only if there is none yet."""
    try:
        cas = confs.current().approved_cas
    except OutdatedGlobalConf:
        return (settings.data_dir / "ca-chain.pem").read_text()
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in cas)


def _tls_and_federation(settings: SecurityServerSettings, confs: GlobalConfClient,
                        token: SoftwareToken, pin: str, clock: Clock
                        ) -> tuple[ssl.SSLContext, ssl.SSLContext, Federation]:
    """Both TLS contexts (client and server proxy), and the federated instances'
    configurations, whose approved CAs the contexts take as they are accepted."""
    auth_cert, auth_key = token.cert_path(AUTH_KEY_LABEL), token.key_path(AUTH_KEY_LABEL)
    ca_pem = _tls_trust(confs, settings)
    client_tls = tls.client_context(auth_cert, auth_key, pin, ca_pem)
    server_tls = tls.server_context(auth_cert, auth_key, pin, ca_pem)
    trusted_cas = tls.TrustedCas((client_tls, server_tls),
                                 x509.load_pem_x509_certificates(ca_pem.encode()))
    federation = Federation(confs, settings.node_dir(), clock,
                            on_accept=lambda conf: trusted_cas.add(conf.approved_cas))
    return client_tls, server_tls, federation


def _schedule(settings: SecurityServerSettings, federation: Federation,
              checkpointer: Checkpointer, stamp: Callable[[bytes], bytes],
              guard: TimestampGuard, audit: SqlAuditStore, clock: Clock,
              signers: ActiveSigningKeys) -> AsyncIOScheduler:
    """Background work: configuration refresh (own and federated), sealing checkpoints,
    archiving, renewed signing keys."""
    scheduler = AsyncIOScheduler()
    scheduler.add_job(asyncio.to_thread, "interval", args=[signers.reload],
                      seconds=settings.signing_keys_reload_s)
    scheduler.add_job(federation.refresh_own, "interval", seconds=settings.globalconf_refresh_s)
    scheduler.add_job(federation.refresh_federated, "interval",
                      seconds=settings.globalconf_refresh_s)
    scheduler.add_job(asyncio.to_thread, "interval",
                      args=[_seal_quietly, checkpointer, stamp, guard],
                      seconds=settings.audit_checkpoint_s)
    if settings.audit_retention_days is not None:
        scheduler.add_job(asyncio.to_thread, "interval", hours=24, args=[
            _archive_quietly, audit,
            ServerLog(settings.server_id, settings.data_dir, settings.audit_url()),
            settings.audit_archive_dir or settings.data_dir / "archive",
            settings.audit_retention_days, clock, DatabaseLock(settings.audit_url(), ARCHIVE_LOCK)])
    scheduler.start()
    return scheduler


def _secrets(token: SoftwareToken, pin: str, data_dir: Path) -> tuple[
        ed25519.Ed25519PrivateKey, bytes, bytes, dict[bytes, KeyPair]]:
    """The audit log key, the subject and body seeds, the encryption keys: made on first
    start, once even when cluster nodes share the token directory and start together."""
    with first_start_lock(token.directory):
        return (_audit_log_key(token, pin, data_dir),
                _sealed_secret(token, AUDIT_SUBJECT_SEED_FILE, pin),
                _sealed_secret(token, AUDIT_BODY_SEED_FILE, pin),
                _encryption_keys(token, pin))


def _open_databases(settings: SecurityServerSettings, server_id: SecurityServerId,
                    log_key: ed25519.Ed25519PrivateKey, clock: Clock
                    ) -> tuple[SqlAuditStore, SqlReplayGuard, ClusterCheckpointer]:
    """The audit log, the replay cache and the checkpointer. On a shared (PostgreSQL)
    database, cluster nodes create the schema one at a time, the first node's key claims the
    log with a checkpoint, and a node refuses a log it would corrupt (another server's, or one
    signed with another audit log key): exit code 2 and the reason in the log."""
    with schema_turn(settings.audit_url()):
        audit = SqlAuditStore(settings.audit_url())
    with schema_turn(settings.replay_url()):
        replay = SqlReplayGuard(settings.replay_url(),
                                window=2 * timedelta(seconds=settings.max_clock_skew_s))
    checkpointer = ClusterCheckpointer(
        audit, f"{server_id} audit log", key_name(str(server_id)), log_key, clock,
        turn=DatabaseLock(settings.audit_url(), CHECKPOINT_LOCK))
    shared = audit.dialect != "sqlite"
    try:
        check_shared_log(audit, str(server_id), key_name(str(server_id)),
                         log_key.public_key() if shared else None,
                         claim=checkpointer.checkpoint if shared else None)
    except ClusterMisconfigured as e:
        audit.close()
        replay.close()
        log.error("security_server.refused", server_id=str(server_id), reason=str(e))
        raise SystemExit(2) from None
    return audit, replay, checkpointer


async def run_security_server(settings: SecurityServerSettings) -> None:
    return_large_buffers_to_the_system()  # flat memory under large messages (heap.py)
    server_id = SecurityServerId.parse(settings.server_id)
    structlog.contextvars.bind_contextvars(node=settings.node_name)  # which node wrote a line
    pin = settings.token_pin.get_secret_value()
    clock = SystemClock()
    limits = Limits(max_body_bytes=settings.max_body_bytes,
                    service_timeout_s=settings.service_timeout_s,
                    read_timeout_s=settings.read_timeout_s)
    token = SoftwareToken(settings.data_dir / "token")
    anchor = ConfigurationAnchor.decode(settings.anchor_path.read_bytes())
    settings.node_dir().mkdir(parents=True, exist_ok=True)
    confs = GlobalConfClient(anchor, settings.node_dir() / "globalconf.signed.json", clock)
    await _first_globalconf(confs)
    client_tls, server_tls, federation = _tls_and_federation(settings, confs, token, pin, clock)
    await _first_federated(federation)

    hsm_held, hsm = hsm_signers(settings)
    signers = ActiveSigningKeys(token, pin, clock, fixed=hsm_held)  # follows the token
    log_key, subject_seed, body_seed, encryption_keys = _secrets(token, pin, settings.data_dir)
    audit, replay, checkpointer = _open_databases(settings, server_id, log_key, clock)
    skew = timedelta(seconds=settings.max_clock_skew_s)
    guard = TimestampGuard(timedelta(seconds=settings.timestamp_tolerance_s), clock)
    monitor = _monitor(confs, audit, guard, clock)
    subjects = SubjectIndex(subject_seed, settings.audit_subject_pattern)
    server = SecurityServer(
        server_id=server_id, globalconf=confs,
        serverconf=ServerConfFile(settings.data_dir / SERVERCONF_FILE),
        signers=signers, audit=GroupCommitter(audit),
        clock=clock, limits=limits,
        fault_spelling=settings.fault_spelling, replay=replay, max_clock_skew=skew,
        encryption_keys=encryption_keys,
        ocsp=CachedOcspSource(confs, _ocsp_cache(confs, clock), clock),
        audit_ready=guard.check, monitor=monitor, subjects=subjects,
        bodies=BodyVault(body_seed), federation=federation, node=settings.node_name)
    peers = PeerClient(client_tls, limits.connect_timeout_s)
    services = ServiceClient(limits.connect_timeout_s)

    client_runner = web.AppRunner(create_client_app(ClientProxy(server, peers), limits),
                                  access_log=None, **connection_limits(limits))
    server_runner = web.AppRunner(create_server_app(ServerProxy(server, services), limits),
                                  access_log=None,
                                  **connection_limits(limits, between_servers=True))
    await client_runner.setup()
    await server_runner.setup()
    await web.TCPSite(client_runner, settings.client_host, settings.client_port).start()
    await web.TCPSite(server_runner, settings.server_host, settings.server_port,
                      ssl_context=server_tls).start()

    stamp = _stamper(confs)
    admin_runner = await _start_admin(settings, checkpointer, stamp, monitor,
                                      AuditAccess(audit, subjects, clock, str(server_id),
                                                  _hosts(server.serverconf),
                                                  ServerLog(settings.server_id,
                                                            settings.data_dir,
                                                            settings.audit_url())))

    scheduler = _schedule(settings, federation, checkpointer, stamp, guard, audit, clock,
                          signers)
    log.info("security_server.started", server_id=str(server_id), node=settings.node_name,
             client_url=f"http://{settings.client_host}:{settings.client_port}",
             server_url=f"https://{settings.server_host}:{settings.server_port}")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("security_server.stopping", server_id=str(server_id))
    scheduler.shutdown(wait=False)
    if admin_runner is not None:
        await admin_runner.cleanup()
    await client_runner.cleanup()
    await server_runner.cleanup()
    await peers.close()
    await services.close()
    audit.close()
    replay.close()
    if hsm is not None:
        hsm.close()
