"""Evidence bundles checked by independent tools (openssl ts, openssl cms, the RFC 9162
algorithms re-implemented from docs/audit-evidence.md) and by `xroad audit verify`."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess

import pytest
from bundle_factory import (
    SIZE,
    World,
    default_entries,
    edit_record,
    flip_leaf_byte,
    lines,
    make_world,
    write_test_bundle,
)
from typer.testing import CliRunner

from xroad.cli.main import app

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None,
                                   reason="openssl CLI not installed")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def entries(world):
    return default_entries(world)


@pytest.fixture
def bundle(world, entries, tmp_path):
    return write_test_bundle(world, tmp_path / "bundle", entries)


def _openssl(*args, cwd):
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30, check=False)


@needs_openssl
def test_openssl_verifies_the_checkpoint_time_stamp(bundle):
    ok = _openssl("ts", "-verify", "-in", "checkpoint.tsr", "-data", "checkpoint",
                  "-CAfile", "certs/tsa-chain.pem", cwd=bundle)
    assert ok.returncode == 0, ok.stderr
    assert "Verification: OK" in ok.stdout

    (bundle / "checkpoint").write_bytes((bundle / "checkpoint").read_bytes() + b" ")
    refused = _openssl("ts", "-verify", "-in", "checkpoint.tsr", "-data", "checkpoint",
                       "-CAfile", "certs/tsa-chain.pem", cwd=bundle)
    assert refused.returncode != 0


@needs_openssl
def test_openssl_verifies_a_message_signature_from_the_bundle(bundle, tmp_path):
    record = json.loads(lines(bundle / "records.jsonl")[0])
    part = json.loads(base64.b64decode(record["signature"]))
    (tmp_path / "manifest.json").write_bytes(base64.b64decode(part["manifest"]))
    (tmp_path / "signature.p7s").write_bytes(base64.b64decode(part["cms"]))
    (tmp_path / "ocsp.der").write_bytes(base64.b64decode(part["ocsp"]))

    verified = _openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", "signature.p7s",
                        "-content", "manifest.json", "-CAfile",
                        str(bundle / "certs" / "ca-chain.pem"), "-purpose", "any",
                        "-out", "/dev/null", cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    ocsp = _openssl("ocsp", "-respin", "ocsp.der", "-noverify", "-resp_text", cwd=tmp_path)
    assert "Cert Status: good" in ocsp.stdout
    assert base64.b64encode(hashlib.sha512(base64.b64decode(record["signature"])).digest()
                            ).decode() == record["record"]["signature_digest"]


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _root_from_path(leaf_hash: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2, written again from the docs to check the format, not the code."""
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0
    return r


def test_every_proof_checks_with_the_documented_algorithm(bundle):
    note = (bundle / "checkpoint").read_bytes().split(b"\n")
    size, checkpoint_root = int(note[1]), base64.b64decode(note[2])
    for record_line, proof_line in zip(lines(bundle / "records.jsonl"),
                                       lines(bundle / "proofs" / "inclusion.jsonl"),
                                       strict=True):
        record, proof = json.loads(record_line), json.loads(proof_line)
        leaf = hashlib.sha256(b"\x00" + base64.b64decode(record["leaf"])).digest()
        assert base64.b64decode(proof["leaf_hash"]) == leaf
        path = [base64.b64decode(h) for h in proof["audit_path"]]
        assert _root_from_path(leaf, record["index"], size, path) == checkpoint_root


# --- xroad audit verify -----------------------------------------------------------------------

def _verify(*args):
    return CliRunner().invoke(app, ["audit", "verify", *map(str, args)])


def test_cli_exit_0_and_a_summary_for_an_intact_bundle(bundle, world, entries, tmp_path):
    from audit.merkle import leaf_hash, root  # noqa: PLC0415

    saved = tmp_path / "saved-checkpoint"
    saved.write_bytes(world.note(5, root([leaf_hash(e.leaf) for e in entries[:5]])))

    result = _verify(bundle, "--checkpoint", saved)

    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    assert f"checkpoint          {SIZE} records, root " in result.output
    assert "time-stamp          20" in result.output
    assert f"signatures          {SIZE - 2} checked" in result.output
    assert "known checkpoint    size 5: consistent" in result.output
    assert "MN Dev Root CA" in result.output


def test_cli_exit_1_and_each_problem_for_a_tampered_bundle(bundle):
    edit_record(bundle, 3, flip_leaf_byte)

    result = _verify(bundle)

    assert result.exit_code == 1
    assert "record 3: leaf_hash of its inclusion proof is not the hash of the leaf" \
           in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("make", [
    lambda b: b / "nowhere",
    lambda b: (b / "manifest.json").unlink() or b,
    lambda b: (b / "manifest.json").write_bytes(b"\xff" * 10) or b,
], ids=["no-directory", "no-manifest", "garbage-manifest"])
def test_cli_exit_2_for_what_is_not_a_bundle(bundle, make):
    result = _verify(make(bundle))

    assert result.exit_code == 2
    assert "is not a readable evidence bundle" in result.output
    assert "Traceback" not in result.output


def test_cli_exit_2_for_an_unreadable_known_checkpoint(bundle, tmp_path):
    result = _verify(bundle, "--checkpoint", tmp_path / "never-saved")
    assert result.exit_code == 2
    assert "never-saved: missing" in result.output
