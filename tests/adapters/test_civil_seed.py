"""The civil registry's settings, database creation and deterministic seed data."""

import time
from collections import defaultdict
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from adapters.civil import CivilRegistrySettings, create_app, seed
from adapters.civil.registry import FamilyRelation, Person, Relation
from adapters.toolkit.register_number import Sex, birth_date_of, is_valid, sex_of

DEMO = "УБ99112233"


def _settings(path: Path) -> CivilRegistrySettings:
    return CivilRegistrySettings(database_url=f"sqlite:///{path}")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XROAD_CIVIL_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    settings = CivilRegistrySettings()  # type: ignore[call-arg]
    assert settings.database_url.endswith("env.db")
    assert settings.max_soap_bytes == 1024 * 1024
    with pytest.raises(ValidationError):
        settings.database_url = "sqlite://"  # type: ignore[misc]


def test_settings_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        CivilRegistrySettings(database_url="sqlite://", databse_url="typo")  # type: ignore[call-arg]


def test_database_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "var" / "adapters" / "civil.db"
    create_app(_settings(path))
    assert path.is_file()


def test_second_start_does_not_seed_again(tmp_path: Path) -> None:
    path = tmp_path / "civil.db"
    create_app(_settings(path))
    create_app(_settings(path))
    with Session(create_engine(f"sqlite:///{path}")) as session:
        assert len(session.scalars(select(Person.id)).all()) == len(seed.generate().persons)


# Seed data


def _rows(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        persons = connection.execute(select(Person.__table__).order_by(Person.id)).all()
        relations = connection.execute(
            select(FamilyRelation.__table__).order_by(
                FamilyRelation.person_id, FamilyRelation.relative_id
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in persons], [tuple(row) for row in relations]


def test_seed_is_deterministic(tmp_path: Path) -> None:
    create_app(_settings(tmp_path / "a.db"))
    create_app(_settings(tmp_path / "b.db"))
    assert _rows(tmp_path / "a.db") == _rows(tmp_path / "b.db")
    assert seed.generate() == seed.generate()
    assert seed.generate(1) != seed.generate(2)


def test_seeded_register_numbers_are_valid_unique_and_consistent() -> None:
    persons = seed.generate().persons
    assert 2900 <= len(persons) <= 3100
    assert len({p.register_number for p in persons}) == len(persons)
    for person in persons:
        assert is_valid(person.register_number), person
        assert birth_date_of(person.register_number) == person.birth_date, person
        assert sex_of(person.register_number) is person.sex, person
        assert person.birth_date < seed.AS_OF


def test_seeded_families_are_consistent() -> None:
    data = seed.generate()
    by_id = {p.id: p for p in data.persons}
    pairs = {(r.person_id, r.relative_id, r.relation) for r in data.relations}
    inverse = {Relation.SPOUSE: Relation.SPOUSE, Relation.PARENT: Relation.CHILD}
    inverse[Relation.CHILD] = Relation.PARENT
    parents: dict[int, list[seed.PersonRow]] = defaultdict(list)
    for person_id, relative_id, relation in pairs:
        assert (relative_id, person_id, inverse[relation]) in pairs
        if relation is Relation.PARENT:
            parents[person_id].append(by_id[relative_id])
    assert parents
    for child_id, its_parents in parents.items():
        child = by_id[child_id]
        fathers = [p for p in its_parents if p.sex is Sex.MALE]
        lineage = fathers[0] if fathers else its_parents[0]  # else: a single mother
        assert child.family_name == lineage.given_name  # the ovog is the father's given name
        assert child.clan_name == lineage.clan_name
        assert all(p.birth_date < child.birth_date for p in its_parents)


def test_seed_is_fast_enough_for_first_start(tmp_path: Path) -> None:
    started = time.perf_counter()
    create_app(_settings(tmp_path / "civil.db"))
    assert time.perf_counter() - started < 3
