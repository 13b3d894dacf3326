"""Subjects as keyed hashes, and bodies sealed per member."""

import pytest

from audit.bodies import BodyUnreadable, BodyVault
from audit.record import SealedBody
from audit.subjects import MAX_SUBJECTS, SubjectIndex
from xroad.messages.multipart import Part

INDEX = SubjectIndex(b"k" * 32)


def test_register_numbers_are_found_in_soap_rest_and_percent_encoded_paths():
    key = INDEX.key_of("УБ99112233")
    assert INDEX.find("<registerNumber>УБ99112233</registerNumber>".encode()) == (key,)
    assert INDEX.find(b'{"path":"persons/%D0%A3%D0%9199112233","query":""}') == (key,)
    assert INDEX.find("persons/уб99112233") == (key,)  # lower case is the same person
    assert INDEX.find("УБ99112233 and УБ99112233") == (key,)


@pytest.mark.parametrize("text", [
    "УБ9911223",  # seven digits
    "УБ991122334",  # nine digits
    "XУБ99112233",  # glued to another letter
    "UB99112233",  # Latin letters
    "",
])
def test_things_that_are_not_register_numbers_are_not_subjects(text):
    assert INDEX.find(text) == ()


def test_the_stored_form_reveals_nothing_and_depends_on_the_server_secret():
    key = INDEX.key_of("УБ99112233")
    assert "99112233" not in key
    assert len(key) == 43
    assert SubjectIndex(b"other" * 8).key_of("УБ99112233") != key


def test_a_bulk_query_records_a_bounded_number_of_subjects():
    text = " ".join(f"УБ{n:08d}" for n in range(100))
    assert len(INDEX.find(text)) == MAX_SUBJECTS


def test_hostile_bytes_do_not_break_the_search():
    assert INDEX.find(b"\xff\xfe\x00" * 1000 + "УБ99112233".encode()) == (
        INDEX.key_of("УБ99112233"),)
    assert INDEX.find(b"%" * 100_000) == ()


VAULT = BodyVault(b"m" * 32)
PARTS = [Part("text/xml", "<a>УБ99112233</a>".encode()), Part("application/octet-stream", b"\0")]


def test_a_sealed_body_opens_only_for_its_record_and_member():
    sealed = VAULT.seal("MN/GOV/GASR", PARTS, "digest-1")
    assert b"99112233" not in sealed.ciphertext
    assert VAULT.open(sealed, "digest-1") == PARTS
    with pytest.raises(BodyUnreadable):
        VAULT.open(sealed, "digest-2")  # moved to another record
    with pytest.raises(BodyUnreadable):
        VAULT.open(SealedBody("MN/GOV/ALAMGAC", sealed.nonce, sealed.ciphertext), "digest-1")
    with pytest.raises(BodyUnreadable):
        BodyVault(b"x" * 32).open(sealed, "digest-1")


def test_members_have_distinct_keys():
    assert VAULT.key_for("MN/GOV/GASR") != VAULT.key_for("MN/GOV/ALAMGAC")
