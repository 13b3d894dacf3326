"""The vehicle registry's settings, database creation and deterministic seed data."""

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from vehicle_soap import DEMO_PLATE, vehicle_settings
from xroad_soap import DEMO, TAX

from adapters.civil import seed as civil_seed
from adapters.civil.registry import Status
from adapters.vehicle import VehicleRegistrySettings, catalogue, create_app, plate, seed, vin
from adapters.vehicle.registry import Vehicle


@pytest.fixture(scope="module")
def rows() -> tuple[seed.VehicleRow, ...]:
    return seed.generate()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XROAD_VEHICLE_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("XROAD_VEHICLE_CLIENT_FIELDS", f'{{"{TAX}": ["make", "year"]}}')
    settings = VehicleRegistrySettings()  # type: ignore[call-arg]
    assert settings.database_url.endswith("env.db")
    assert settings.max_soap_bytes == 1024 * 1024
    assert set(settings.client_fields[TAX]) == {"make", "year"}
    with pytest.raises(ValidationError):
        settings.database_url = "sqlite://"  # type: ignore[misc]


@pytest.mark.parametrize(
    "client_fields",
    [{"MN/GOV": ["make"]}, {TAX: ["colour"]}, {"MN/GOV/MTA/tax registry": ["make"]}],
    ids=["not-a-client", "unknown-field", "bad-character"],
)
def test_settings_refuse_bad_minimisation_rules(client_fields: object) -> None:
    with pytest.raises(ValidationError):
        VehicleRegistrySettings(database_url="sqlite://", client_fields=client_fields)  # type: ignore[arg-type]


def test_settings_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        VehicleRegistrySettings(database_url="sqlite://", databse_url="x")  # type: ignore[call-arg]


def test_seed_is_deterministic(rows: tuple[seed.VehicleRow, ...]) -> None:
    assert seed.generate() == rows
    assert seed.generate(seed.SEED + 1) != rows


def test_demo_person_owns_vehicles(rows: tuple[seed.VehicleRow, ...]) -> None:
    owned = [row for row in rows if row.owner_register_number == DEMO]
    assert [row.plate_number for row in owned] == [DEMO_PLATE, "0718УНЕ"]
    assert (owned[0].make, owned[0].model, owned[0].year) == ("Toyota", "Prius", 2015)


def test_owners_are_adults_of_the_civil_registry(rows: tuple[seed.VehicleRow, ...]) -> None:
    persons = {p.register_number: p for p in civil_seed.generate().persons}
    for row in rows:
        owner = persons[row.owner_register_number]
        assert owner.status is Status.ALIVE
        assert row.registration_date >= date(owner.birth_date.year + 18, 1, 1)
    assert len({row.owner_register_number for row in rows}) > 800


def test_seed_rows_are_valid_and_unique(rows: tuple[seed.VehicleRow, ...]) -> None:
    assert 1000 < len(rows) < 2000
    assert len({row.plate_number for row in rows}) == len(rows)
    assert len({row.vin for row in rows}) == len(rows)
    for row in rows:
        assert plate.is_valid(row.plate_number)
        assert vin.has_valid_check_digit(vin.check_vin(row.vin))
        assert row.vin[vin.YEAR_POSITION] == vin.year_code(row.year)
        model = catalogue.find(row.make, row.model)
        assert row.vin.startswith(model.wmi)
        assert model.first_year <= row.year <= model.last_year
        assert date(row.year, 1, 1) < row.registration_date < seed.AS_OF
        assert row.inspection_date >= row.registration_date


def test_vehicles_are_registered_where_their_owners_live(
    rows: tuple[seed.VehicleRow, ...],
) -> None:
    persons = {p.register_number: p for p in civil_seed.generate().persons}
    for row in rows[2:]:  # the demo vehicles are fixed
        assert plate.region_of(row.plate_number) == persons[row.owner_register_number].aimag


def test_toyota_prius_is_the_most_common_model(rows: tuple[seed.VehicleRow, ...]) -> None:
    priuses = sum(row.model == "Prius" for row in rows)
    assert priuses > len(rows) / 5


def test_first_start_seeds_then_leaves_data_alone(tmp_path: Path) -> None:
    path = tmp_path / "var" / "adapters" / "vehicle.db"
    create_app(vehicle_settings(path))
    assert path.is_file()
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        demo = session.scalars(select(Vehicle).where(Vehicle.plate_number == DEMO_PLATE)).one()
        assert demo.owner_register_number == DEMO
        session.delete(demo)
        session.commit()
    create_app(vehicle_settings(path))
    with Session(engine) as session:
        assert (
            session.scalars(select(Vehicle).where(Vehicle.plate_number == DEMO_PLATE)).all() == []
        )
        assert len(session.scalars(select(Vehicle)).all()) == len(seed.generate()) - 1
    engine.dispose()


def test_orm_refuses_invalid_values() -> None:
    with pytest.raises(ValueError, match="region"):
        Vehicle(plate_number="1234ЯЯА")
    with pytest.raises(ValueError, match="17"):
        Vehicle(vin="JTDKB20U3F041820I")
    with pytest.raises(ValueError, match="register number"):
        Vehicle(owner_register_number="УБ99132233")
