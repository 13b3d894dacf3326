"""Evidence bundles from nobody we trust: missing and malformed files, oversized lines, bytes
that are not UTF-8, JSON nested without end. Each becomes a named problem, never a crash; a
directory that is no bundle at all is an `EvidenceError`. Also: how bundles are written."""

from __future__ import annotations

import base64
import json
import os

import pytest
from bundle_factory import (
    SIZE,
    World,
    default_entries,
    edit_lines,
    lines,
    make_world,
    problems,
    write_test_bundle,
)

from audit.bundle_digest import bundle_digest
from audit.evidence import MAX_LINE, EvidenceError, timestamp_response
from audit.merkle import leaf_hash, root
from audit.verifier import verify_bundle
from audit.verifier_records import IndexSet


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def entries(world):
    return default_entries(world)


@pytest.fixture
def bundle(world, entries, tmp_path):
    return write_test_bundle(world, tmp_path / "bundle", entries)


def _replace_line(bundle, number, data):
    edit_lines(bundle / "records.jsonl", lambda ls: [*ls[:number], data + b"\n",
                                                     *ls[number + 1:]])


@pytest.mark.parametrize("name", [
    "checkpoint", "checkpoint.tsr", "certs/log-key.pub", "certs/tsa-chain.pem",
    "certs/ca-chain.pem", "proofs/inclusion.jsonl", "proofs/consistency.jsonl", "records.jsonl",
])
def test_a_missing_file_is_named(bundle, name):
    (bundle / name).unlink()

    found = problems(verify_bundle(bundle))

    assert f"{name}: missing" in found


def test_a_malformed_json_line_is_named(bundle):
    _replace_line(bundle, 2, b'{"index": 2, "leaf": ')

    found = problems(verify_bundle(bundle))

    assert found[0].startswith("records.jsonl line 3: not a JSON object: Expecting value")
    assert "record 2: missing" in found


@pytest.mark.parametrize(("data", "expected"), [
    (b"x" * (MAX_LINE + 10), f"records.jsonl line 3: longer than {MAX_LINE} bytes"),
    (b'{"index": 2, "leaf": "\xff\xfe"}', "records.jsonl line 3: not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "records.jsonl line 3: not a JSON object: JSON nested "
                                      "too deeply"),
    (b'{"index": 2, "leaf": "AA==", "record": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "records.jsonl line 3: not a JSON object: JSON nested too deeply"),
    (b'{"index": ' + b"9" * 5000 + b"}", "records.jsonl line 3: not a JSON object: Exceeds"),
    (b'{"index": -2, "leaf": "", "record": {}}', "records.jsonl line 3: 'index' must be an "
                                                 "integer >= 0"),
    (b'{"index": 2, "leaf": "not base64!", "record": {}}', "records.jsonl line 3: 'leaf' is "
                                                          "not base64"),
    (b"", "records.jsonl line 3: not a JSON object: Expecting value"),
], ids=["oversized", "not-utf8", "nested", "nested-copy", "huge-number", "negative",
        "bad-base64", "empty"])
def test_hostile_lines_are_named(bundle, data, expected):
    _replace_line(bundle, 2, data)

    found = problems(verify_bundle(bundle))

    assert found[0].startswith(expected), found
    assert "record 2: missing" in found


def test_a_leaf_that_is_not_json_is_named(bundle):
    _replace_line(bundle, 2, json.dumps({
        "index": 2, "leaf": base64.b64encode(b"\xff\x00").decode(), "record": {},
        "signature": None}).encode())
    found = problems(verify_bundle(bundle))
    assert "record 2: leaf is not a JSON object: not UTF-8" in found


def test_a_record_copy_nested_deeply_is_named_not_crashed(bundle):
    def deepen(ls):
        doc = json.loads(ls[1])
        nested: list = []
        for _ in range(800):
            nested = [nested]
        doc["record"] = {**doc["record"], "outcome": nested, "security_server": nested}
        return [ls[0], json.dumps(doc).encode() + b"\n", *ls[2:]]

    edit_lines(bundle / "records.jsonl", deepen)

    found = problems(verify_bundle(bundle))

    assert any(p.startswith("record 1: the 'record' copy differs from the leaf") for p in found)


def test_problems_are_bounded(bundle):
    edit_lines(bundle / "records.jsonl", lambda ls: [b"{\n"] * 500)

    report = verify_bundle(bundle, max_problems=100)

    assert len(report.problems) == 100
    assert report.problems_not_listed > 400
    assert not report.ok


def test_a_device_in_place_of_a_file_is_named(bundle):
    (bundle / "records.jsonl").unlink()
    os.symlink("/dev/zero", bundle / "records.jsonl")
    (bundle / "checkpoint.tsr").unlink()
    os.symlink("/dev/zero", bundle / "checkpoint.tsr")

    found = problems(verify_bundle(bundle))

    assert "records.jsonl: not a regular file" in found
    assert "checkpoint.tsr: not a regular file" in found


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("checkpoint", b"x" * 20_000, "checkpoint: larger than 16384 bytes"),
    ("checkpoint", b"origin\n1\nAAAA\n\n\xe2\x80\x94 \xff\xfe\n",
     "checkpoint: signature is not valid for log key MN-GOV-GASR-ss1-audit-log: checkpoint "
     "signature lines are not UTF-8"),
    ("checkpoint.tsr", b"\x30\x03\x02\x01\x00", "checkpoint.tsr: not a DER TimeStampResp"),
    ("checkpoint.tsr", b"garbage", "checkpoint.tsr: not a DER TimeStampResp"),
    ("certs/ca-chain.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
     "certs/ca-chain.pem: not PEM certificates"),
    ("certs/tsa-chain.pem", b"", "certs/tsa-chain.pem: not PEM certificates"),
    ("certs/log-key.pub", b"\xff", "certs/log-key.pub: not UTF-8"),
    ("certs/log-key.pub", b"name+1234+AAAA", "certs/log-key.pub: verifier key is not an "
                                              "Ed25519 key"),
    ("proofs/consistency.jsonl", b'{"size": 1}\n', "proofs/consistency.jsonl line 1: 'note' "
                                                  "must be a base64 string"),
    ("proofs/inclusion.jsonl", b'{"index": 0, "tree_size": 9, "leaf_hash": "AAAA"}\n',
     "proofs/inclusion.jsonl line 1: 'leaf_hash' holds a value that is not a SHA-256 hash"),
], ids=["big-note", "note-not-utf8", "tsr-not-response", "tsr-garbage", "pem-garbage",
        "pem-empty", "vkey-not-utf8", "vkey-not-ed25519", "history-line", "proof-line"])
def test_malformed_files_are_named(bundle, name, data, expected):
    (bundle / name).write_bytes(data)

    found = problems(verify_bundle(bundle))

    assert any(p.startswith(expected) for p in found), found


def test_a_checkpoint_claiming_an_absurd_size_does_not_hang(world, bundle):
    """The bundle's own log key can sign anything: a size of 10^18 must cost nothing."""
    huge = 10**18
    note = world.note(huge, root([leaf_hash(b"x")]))
    (bundle / "checkpoint").write_bytes(note)
    (bundle / "checkpoint.tsr").write_bytes(timestamp_response(world.stamp(note)))
    manifest = (bundle / "manifest.json").read_text()
    (bundle / "manifest.json").write_text(manifest.replace(f'"checkpoint_size": {SIZE}',
                                                           f'"checkpoint_size": {huge}'))

    found = problems(verify_bundle(bundle))

    assert f"records {SIZE}..{huge - 1}: missing (the bundle ends early)" in found


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda d: d.unlink(), "manifest.json: missing"),
    (lambda d: d.write_text("[]"), "manifest.json: not a JSON object"),
    (lambda d: d.write_bytes(b"\xff"), "manifest.json: not UTF-8"),
    (lambda d: d.write_text('{"format": "something/2"}'), "manifest.json: format is not"),
    (lambda d: d.write_text('{"format": "xroad-bus-audit-evidence/1"}'),
     "manifest.json: 'filters' must be an object"),
], ids=["missing", "not-object", "not-utf8", "other-format", "fields-missing"])
def test_a_directory_without_a_usable_manifest_is_not_a_bundle(bundle, edit, expected):
    edit(bundle / "manifest.json")
    with pytest.raises(EvidenceError, match="^" + expected):
        verify_bundle(bundle)


def test_a_file_is_not_a_bundle(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(EvidenceError, match="is not a directory"):
        verify_bundle(tmp_path / "file")


# --- writing ----------------------------------------------------------------------------------

def test_a_bundle_is_written_only_into_a_new_or_empty_directory(world, entries, tmp_path):
    (tmp_path / "empty").mkdir()
    assert verify_bundle(write_test_bundle(world, tmp_path / "empty", entries)).ok

    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(EvidenceError, match="is not empty"):
        write_test_bundle(world, tmp_path / "used", entries)
    assert [p.name for p in (tmp_path / "used").iterdir()] == ["notes.txt"]


def test_a_failed_write_leaves_nothing_behind(world, entries, tmp_path):
    with pytest.raises(EvidenceError, match="record 1 is missing from the log"):
        write_test_bundle(world, tmp_path / "b", entries, select=[0, 2])  # complete, with a gap
    assert list(tmp_path.iterdir()) == []


def test_the_bundle_digest_is_a_sha256sum_listing(bundle):
    import hashlib  # noqa: PLC0415

    files = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    listing = "".join(f"{hashlib.sha256((bundle / f).read_bytes()).hexdigest()}  {f}\n"
                      for f in files)
    assert bundle_digest(bundle) == hashlib.sha256(listing.encode()).hexdigest()

    before = bundle_digest(bundle)
    edit_lines(bundle / "records.jsonl", lambda ls: ls[:-1])
    assert bundle_digest(bundle) != before
    assert len(lines(bundle / "records.jsonl")) == SIZE - 1


def test_missing_indexes_are_found_in_runs():
    seen = IndexSet(range(100))
    for i in [*range(3, 10), 11, *range(40, 100)]:
        assert seen.add(i)
    assert not seen.add(11)
    assert list(seen.missing(range(100))) == [range(3), range(10, 11), range(12, 40)]
    sparse = IndexSet(None)
    for i in (5, 7):
        sparse.add(i)
    assert list(sparse.missing(range(10))) == [range(5), range(6, 7), range(8, 10)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_files_are_named(bundle):
    for name in ("records.jsonl", "proofs/inclusion.jsonl", "checkpoint"):
        (bundle / name).chmod(0)

    found = problems(verify_bundle(bundle))

    for name in ("records.jsonl", "proofs/inclusion.jsonl", "checkpoint"):
        assert any(p.startswith(f"{name}: cannot be read") for p in found), found
