"""A series of archive bundles: each verifies, follows the previous one, names its digest."""

import shutil

import pytest
from bundle_factory import default_entries, make_world, write_test_bundle

from audit.archive import verify_archive_chain
from audit.bundle_digest import bundle_digest
from audit.evidence import ArchiveRange


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def entries(world):
    return default_entries(world)


def _series(world, entries, directory, ranges):
    bundles, previous = [], None
    for sequence, (start, end) in enumerate(ranges, start=1):
        out = write_test_bundle(world, directory / f"archive-{sequence:06d}", entries,
                                select=range(start, end), history=(),
                                archive=ArchiveRange(sequence, start, end, previous))
        previous = bundle_digest(out)
        bundles.append(out)
    return bundles


def test_a_chained_series_verifies(world, entries, tmp_path):
    bundles = _series(world, entries, tmp_path, [(0, 3), (3, 7), (7, 9)])
    assert verify_archive_chain(bundles) == []


def test_a_missing_archive_is_named(world, entries, tmp_path):
    first, _, third = _series(world, entries, tmp_path, [(0, 3), (3, 7), (7, 9)])
    problems = verify_archive_chain([first, third])
    assert any("archive 3 where 2 belongs" in p for p in problems)
    assert any("starts at record 7, the previous archive ended at 3" in p for p in problems)
    assert any("does not chain" in p for p in problems)


def test_a_replaced_archive_breaks_the_chain_after_it(world, entries, tmp_path):
    bundles = _series(world, entries, tmp_path, [(0, 3), (3, 9)])
    replacement = _series(world, entries, tmp_path / "other", [(0, 3)])[0]
    shutil.rmtree(bundles[0])
    shutil.copytree(replacement, bundles[0])  # verifies on its own: a fresh checkpoint
    (bundles[0] / "notes.txt").write_text("re-exported")
    problems = verify_archive_chain(bundles)
    assert problems == [f"{bundles[1].name}: does not chain to the previous archive (its "
                        "digest differs: replaced, altered or missing)"]


def test_a_bundle_that_is_not_an_archive_is_named(world, entries, tmp_path):
    plain = write_test_bundle(world, tmp_path / "plain", entries)
    assert verify_archive_chain([plain]) == [f"{plain.name}: not an archive bundle"]
    assert verify_archive_chain([tmp_path / "nothing"])[0].startswith("nothing: not a readable")
