"""TLS contexts for the mutual-TLS channel between security servers.

The handshake checks the chain against the approved CAs; the server proxy and the client
proxy then check the peer certificate's hash against global configuration (`peer.py`).
"""

from __future__ import annotations

import ssl
from pathlib import Path


def _base(ctx: ssl.SSLContext, cert_file: Path, key_file: Path, key_pin: str,
          ca_pem: str) -> ssl.SSLContext:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert_file), str(key_file), password=key_pin)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=ca_pem)
    return ctx


def server_context(cert_file: Path, key_file: Path, key_pin: str, ca_pem: str) -> ssl.SSLContext:
    return _base(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), cert_file, key_file, key_pin, ca_pem)


def client_context(cert_file: Path, key_file: Path, key_pin: str, ca_pem: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # identity is the registered certificate hash, not a host name
    return _base(ctx, cert_file, key_file, key_pin, ca_pem)
