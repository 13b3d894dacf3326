"""The digest of an evidence bundle: what chains archive bundles to each other.

SHA-256 (hex) of a listing with one `<sha256 hex>  <relative path>\\n` line per file, sorted
by path: exactly what `sha256sum` prints, so the digest can be checked with standard tools.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from audit.evidence import EvidenceError

_CHUNK: Final = 64 * 1024

def bundle_digest(bundle: Path) -> str:
    """SHA-256 (hex) of the bundle's listing: one `<sha256 hex>  <relative path>\\n` line per
    file, sorted by path, which is what `sha256sum` prints; archive bundles chain by it."""
    if not bundle.is_dir():
        raise EvidenceError(f"{bundle} is not a directory")
    listing = hashlib.sha256()
    for path in sorted(_files(bundle, bundle), key=lambda p: p.relative_to(bundle).as_posix()):
        listing.update(f"{_file_sha256(path)}  {path.relative_to(bundle).as_posix()}\n".encode())
    return listing.hexdigest()


def _files(directory: Path, bundle: Path) -> Iterator[Path]:
    for path in directory.iterdir():
        if path.is_symlink():
            raise EvidenceError(f"{path.relative_to(bundle)} is a symbolic link")
        if path.is_dir():
            yield from _files(path, bundle)
        elif path.is_file():
            yield path
        else:
            raise EvidenceError(f"{path.relative_to(bundle)} is not a regular file")


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
