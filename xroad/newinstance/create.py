"""Create a planned instance on disk: all or nothing.

Everything is built in a temporary directory beside the target and renamed into place at the
end, so an interrupted or failed run leaves no half-made instance (and an existing one is
never touched: the target must be missing or empty).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from sqlalchemy import create_engine

from keys.certs import pem
from keys.devpki import create_dev_ca
from keys.token import SoftwareToken
from xroad.central.admin_auth import ApiKeyStore, ensure_key_file
from xroad.central.bootstrap import approve_tsa, ensure_conf_signing_key
from xroad.central.database import current
from xroad.central.keys import CertIssuer, anchor_for
from xroad.central.roles import Role
from xroad.central.service import Registry
from xroad.clock import FixedClock, require_aware
from xroad.newinstance.certfiles import cert_name
from xroad.newinstance.launch import Component, components, render_env, render_start_script
from xroad.newinstance.layout import InstanceLayout
from xroad.newinstance.plan import ApprovedCa, DevPki, InitRefused, InstancePlan, Tsa
from xroad.newinstance.summary import CreatedInstance, render_summary

__all__ = ["CreatedInstance", "Progress", "create_instance"]

Progress = Callable[[str], None]
_PIN_BYTES = 24


def create_instance(plan: InstancePlan, target: Path, *, pin: str | None, at: datetime,
                    xroad: str, progress: Progress) -> CreatedInstance:
    """Create the instance in `target` (missing or empty). `pin` None: generate the token PIN
    and keep it in `secrets/token-pin`. `xroad` is the command the start scripts run."""
    require_aware(at)
    target = target.absolute()
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.init-", dir=target.parent))
    try:
        created = _build(plan, InstanceLayout(work, plan.instance),
                         InstanceLayout(target, plan.instance), pin, at, xroad, progress)
        _move_into_place(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return created


def _check_target(target: Path) -> None:
    if target.is_dir():
        if any(target.iterdir()):
            raise InitRefused(f"{target} exists and is not empty; give a new or empty "
                              f"directory (xroad init never changes an existing one)")
    elif target.exists():
        raise InitRefused(f"{target} exists and is not a directory")


def _move_into_place(work: Path, target: Path) -> None:
    try:
        os.rename(work, target)  # replaces an empty directory, atomically
    except OSError as e:
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise InitRefused(f"{target} was filled by something else meanwhile; "
                              f"nothing was written") from e
        raise


def _build(plan: InstancePlan, work: InstanceLayout, final: InstanceLayout, pin: str | None,
           at: datetime, xroad: str, progress: Progress) -> CreatedInstance:
    pin_stored = pin is None
    token_pin = secrets.token_urlsafe(_PIN_BYTES) if pin is None else pin
    for directory in (work.central, work.secrets, work.env_dir):
        directory.mkdir(mode=0o700)
    if isinstance(plan.trust, DevPki):
        cas, tsas, issue = _dev_pki(plan, plan.trust, work, token_pin, at, progress)
    else:
        cas, tsas, issue = plan.trust.cas, plan.trust.tsas, None
        progress(f"importing {len(cas)} CA certificate(s) and {len(tsas)} time-stamping "
                 f"authority(ies); no CA keys are created")
    token = SoftwareToken(work.central_token)
    cert = ensure_conf_signing_key(token, token_pin, plan.instance, at, issue=issue)
    progress(f"central server token: configuration signing key, certificate "
             f"{cert.subject.rfc4514_string()}" + (" (self-signed)" if issue is None else ""))
    admin_key = _registry(plan, work, cas, tsas, at, progress)
    anchor = anchor_for(token, plan.instance, plan.download_url).encode()
    work.anchor.write_bytes(anchor)
    progress(f"configuration anchor: {final.anchor.name} (download URL {plan.download_url})")
    work.ca_certs.write_bytes(pem(ca.cert for ca in cas))
    if pin_stored:
        _write_private(work.pin_file, token_pin)
    launched = components(plan, final)
    _write_launchers(plan, work, launched, pin_stored=pin_stored, xroad=xroad)
    progress("start scripts: " + ", ".join(final.start_script(c.name).name for c in launched)
             + " (settings in env/)")
    created = CreatedInstance(plan, final, hashlib.sha256(anchor).hexdigest(), pin_stored,
                              admin_key, launched, tuple(cas))
    work.instance_file.write_text(_instance_json(created), encoding="utf-8")
    work.next_steps.write_text(render_summary(created) + "\n", encoding="utf-8")
    return created


def _dev_pki(plan: InstancePlan, trust: DevPki, work: InstanceLayout, pin: str, at: datetime,
             progress: Progress) -> tuple[tuple[ApprovedCa, ...], tuple[Tsa, ...], CertIssuer]:
    ca = create_dev_ca(work.pki, plan.instance, pin, at, ocsp_url=trust.ocsp.url)
    tsa = ca.ensure_tsa_signer(pin, at).certificate
    ca.ensure_ocsp_signer(pin, at)
    progress(f"dev PKI (TEST ONLY): {cert_name(ca.root)}, {cert_name(ca.issuing)}, "
             f"OCSP responder and time-stamping certificates")

    def issue(public_key: CertificatePublicKeyTypes, issued_at: datetime
              ) -> list[x509.Certificate]:
        return [ca.issue_conf_signing_cert(plan.instance, public_key, issued_at), *ca.chain]

    cas = tuple(ApprovedCa(cert_name(c), c, trust.ocsp.url) for c in (ca.root, ca.issuing))
    return cas, (Tsa(cert_name(tsa), trust.tsa.url, tsa),), issue


def _registry(plan: InstancePlan, work: InstanceLayout, cas: Sequence[ApprovedCa],
              tsas: Sequence[Tsa], at: datetime, progress: Progress) -> bool:
    """The central database: schema, member classes, first member, trust services, and a
    first administrator API key. True if the key was issued."""
    engine = create_engine(f"sqlite:///{work.central_db}")
    try:
        registry = Registry(engine, plan.instance)  # runs the migrations
        registry.apply_seed(plan.seed)
        for ca in cas:
            registry.add_approved_ca(ca.name, ca.cert, ca.ocsp_url)
        for tsa in tsas:
            approve_tsa(engine, tsa.name, tsa.url, tsa.cert)
        admin_key = ensure_key_file(ApiKeyStore(engine, FixedClock(at)), work.admin_key_file,
                                    Role.ADMINISTRATOR, "first administrator (xroad init)")
        revision = current(engine)
    finally:
        engine.dispose()
    classes = ", ".join(code for code, _ in plan.seed.member_classes)
    members = "".join(f"; member {m.id} ({m.name})" for m in plan.seed.members)
    progress(f"central server database: schema {revision}; member classes {classes}{members}")
    for ca in cas:
        progress(f"approved CA: {ca.name} (OCSP {ca.ocsp_url})")
    for tsa in tsas:
        progress(f"approved time-stamping authority: {tsa.url}")
    if admin_key:
        progress(f"first administrator API key: {work.admin_key_file.relative_to(work.root)}")
    return admin_key


def _write_launchers(plan: InstancePlan, work: InstanceLayout, launched: Sequence[Component],
                     *, pin_stored: bool, xroad: str) -> None:
    for component in launched:
        work.env_file(component.name).write_text(render_env(component, plan.instance),
                                                 encoding="utf-8")
        script = work.start_script(component.name)
        script.write_text(render_start_script(component, plan.instance, pin_stored=pin_stored,
                                              xroad=xroad), encoding="utf-8")
        script.chmod(0o755)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def _instance_json(created: CreatedInstance) -> str:
    """The instance's description for scripts (keys as the demo's `instance.json`)."""
    plan, layout = created.plan, created.layout
    dev = isinstance(plan.trust, DevPki)
    doc = {
        "instance": plan.instance,
        "name": plan.name,
        "central_server": {"url": plan.central.url, "data_dir": str(layout.central)},
        "anchor": {"path": str(layout.anchor), "sha256": created.anchor_sha256},
        "member_classes": [code for code, _ in plan.seed.member_classes],
        "members": [{"id": str(m.id), "name": m.name} for m in plan.seed.members],
        "trust_services": {
            "ca_certs": str(layout.ca_certs),
            "ocsp_url": created.approved_cas[0].ocsp_url,
            "tsa_url": plan.tsa_urls[0],
            "tsa_urls": list(plan.tsa_urls),
            "dev_pki": str(layout.pki) if dev else None,
        },
        "start_scripts": {c.name: str(layout.start_script(c.name)) for c in created.components},
        "data_dir": str(layout.root),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

