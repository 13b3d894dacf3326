"""The land registry's settings, database creation and deterministic seed data."""

from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import pytest
from land_soap import DEMO_WIFE, land_settings
from pydantic import ValidationError
from sqlalchemy import create_engine, select
from xroad_soap import DEMO, TAX

from adapters.civil import seed as civil_seed
from adapters.civil.registry import Relation, Status
from adapters.land import LandRegistrySettings, ParcelField, create_app, seed
from adapters.land.registry import LandUse, Ownership, Parcel
from adapters.toolkit.register_number import birth_date_of


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XROAD_LAND_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    rules = f'[{{"client": "{TAX}", "fields": ["area", "owners"]}}]'
    monkeypatch.setenv("XROAD_LAND_DISCLOSURE_RULES", rules)
    settings = LandRegistrySettings()  # type: ignore[call-arg]
    assert settings.database_url.endswith("env.db")
    assert settings.max_soap_bytes == 1024 * 1024
    assert settings.disclosure_file is None
    assert settings.disclosure_rules[0].fields == {ParcelField.AREA, ParcelField.OWNERS}
    with pytest.raises(ValidationError):
        settings.database_url = "sqlite://"  # type: ignore[misc]


def test_settings_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        LandRegistrySettings(database_url="sqlite://", databse_url="typo")  # type: ignore[call-arg]


def test_database_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "var" / "adapters" / "land.db"
    create_app(land_settings(path))
    assert path.is_file()


def _rows(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        parcels = connection.execute(select(Parcel.__table__).order_by(Parcel.id)).all()
        owners = connection.execute(
            select(Ownership.__table__).order_by(Ownership.parcel_pk, Ownership.register_number)
        ).all()
    engine.dispose()
    return [tuple(row) for row in parcels], [tuple(row) for row in owners]


def test_second_start_does_not_seed_again(tmp_path: Path) -> None:
    path = tmp_path / "land.db"
    create_app(land_settings(path))
    create_app(land_settings(path))
    assert len(_rows(path)[0]) == len(seed.generate().parcels)


def test_seed_is_deterministic(tmp_path: Path) -> None:
    create_app(land_settings(tmp_path / "a.db"))
    create_app(land_settings(tmp_path / "b.db"))
    assert _rows(tmp_path / "a.db") == _rows(tmp_path / "b.db")
    assert seed.generate() == seed.generate()
    assert seed.generate(1) != seed.generate(2)


def test_demo_person_owns_a_shared_home_and_a_plot() -> None:
    data = seed.generate()
    owned = {o.parcel_pk for o in data.ownerships if o.register_number == DEMO}
    home, plot = (p for p in data.parcels if p.id in owned)
    assert home.land_use is LandUse.RESIDENTIAL
    assert (home.aimag, home.soum) == ("Улаанбаатар", "Баянзүрх дүүрэг")  # where he lives
    assert {(o.register_number, o.share_numerator, o.share_denominator)
            for o in data.ownerships if o.parcel_pk == home.id} == {(DEMO, 1, 2), (DEMO_WIFE, 1, 2)}
    assert plot.land_use is LandUse.AGRICULTURAL
    assert [o.register_number for o in data.ownerships if o.parcel_pk == plot.id] == [DEMO]


def test_owners_are_living_adults_of_the_civil_registry() -> None:
    persons = {p.register_number: p for p in civil_seed.generate().persons}
    data = seed.generate()
    for ownership in data.ownerships:
        person = persons[ownership.register_number]
        assert person.status is Status.ALIVE
        assert birth_date_of(person.register_number) == person.birth_date
    parcels = {p.id: p for p in data.parcels}
    for ownership in data.ownerships:
        parcel = parcels[ownership.parcel_pk]
        person = persons[ownership.register_number]
        assert parcel.valid_from.year - person.birth_date.year >= 18
        if parcel.land_use in {LandUse.RESIDENTIAL, LandUse.COMMERCIAL}:
            assert (parcel.aimag, parcel.soum) == (person.aimag, person.soum)  # at home


def test_co_owners_are_spouses_with_equal_shares() -> None:
    civil = civil_seed.generate()
    ids = {p.register_number: p.id for p in civil.persons}
    spouses = {(r.person_id, r.relative_id) for r in civil.relations
               if r.relation is Relation.SPOUSE}
    owners: dict[int, list[seed.OwnershipRow]] = defaultdict(list)
    for ownership in seed.generate().ownerships:
        owners[ownership.parcel_pk].append(ownership)
    assert any(len(group) == 2 for group in owners.values())
    for group in owners.values():
        assert sum(Fraction(o.share_numerator, o.share_denominator) for o in group) == 1
        if len(group) == 2:
            assert (ids[group[0].register_number], ids[group[1].register_number]) in spouses


def test_parcels_are_realistic() -> None:
    parcels = seed.generate().parcels
    assert 300 <= len(parcels) <= 1000
    assert len({p.parcel_id for p in parcels}) == len(parcels)
    assert len({p.certificate_number for p in parcels}) == len(parcels)
    assert {p.land_use for p in parcels} == set(LandUse)
    for parcel in parcels:
        assert len(parcel.parcel_id) == 10
        assert parcel.parcel_id.isdigit()
        assert parcel.area_m2 > 0
        assert seed.LAND_LAW <= parcel.valid_from < seed.AS_OF
        if parcel.land_use is LandUse.RESIDENTIAL:
            assert parcel.valid_until is None  # ownership
        else:
            assert parcel.valid_until is not None
            assert parcel.valid_until > seed.AS_OF  # possession terms are renewed
        if parcel.land_use is LandUse.PASTURE:
            assert parcel.aimag != "Улаанбаатар"
