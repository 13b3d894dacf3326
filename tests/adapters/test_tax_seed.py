"""The tax registry's settings, database creation and deterministic seed data."""

import time
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from tax_soap import DEMO_TIN, tax_settings
from xroad_soap import DEMO

from adapters.civil import seed as civil_seed
from adapters.civil.registry import Status
from adapters.tax import TaxRegistrySettings, create_app, seed
from adapters.tax.disclosure import DEMO_FIELDS_BY_CLIENT, TaxField
from adapters.tax.registry import Taxpayer, TaxpayerStatus
from adapters.tax.tin import register_number_of


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XROAD_TAX_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv(
        "XROAD_TAX_FIELDS_BY_CLIENT", '{"MN/GOV/ALAMGAC/land-registry": ["property_tax_paid"]}'
    )
    settings = TaxRegistrySettings()  # type: ignore[call-arg]
    assert settings.database_url.endswith("env.db")
    assert settings.max_soap_bytes == 1024 * 1024
    assert settings.fields_by_client == {
        "MN/GOV/ALAMGAC/land-registry": frozenset({TaxField.PROPERTY_TAX_PAID})
    }
    with pytest.raises(ValidationError):
        settings.database_url = "sqlite://"  # type: ignore[misc]


def test_settings_default_to_the_demo_policy() -> None:
    settings = TaxRegistrySettings(database_url="sqlite://")
    assert settings.fields_by_client == DEMO_FIELDS_BY_CLIENT


@pytest.mark.parametrize(
    "fields_by_client",
    [{"MN/GOV/ALAMGAC/land-registry": ["arrears"]}, {"land-registry": ["tin"]}],
    ids=["unknown-field", "not-a-client"],
)
def test_settings_refuse_a_bad_policy(fields_by_client: object) -> None:
    with pytest.raises(ValidationError):
        TaxRegistrySettings.model_validate(
            {"database_url": "sqlite://", "fields_by_client": fields_by_client}
        )


def test_settings_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        TaxRegistrySettings(database_url="sqlite://", databse_url="typo")  # type: ignore[call-arg]


def test_database_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "var" / "adapters" / "tax.db"
    create_app(tax_settings(path))
    assert path.is_file()


def _rows(path: Path) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        rows = connection.execute(select(Taxpayer.__table__).order_by(Taxpayer.id)).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_second_start_does_not_seed_again(tmp_path: Path) -> None:
    path = tmp_path / "tax.db"
    create_app(tax_settings(path))
    create_app(tax_settings(path))
    assert len(_rows(path)) == len(seed.generate())


def test_seed_is_deterministic(tmp_path: Path) -> None:
    create_app(tax_settings(tmp_path / "a.db"))
    create_app(tax_settings(tmp_path / "b.db"))
    assert _rows(tmp_path / "a.db") == _rows(tmp_path / "b.db")
    assert seed.generate() == seed.generate()
    assert seed.generate(1) != seed.generate(2)


def test_demo_person_has_property_and_vehicle_tax(tmp_path: Path) -> None:
    path = tmp_path / "tax.db"
    create_app(tax_settings(path))
    with Session(create_engine(f"sqlite:///{path}")) as session:
        demo = session.scalars(select(Taxpayer).where(Taxpayer.register_number == DEMO)).one()
        assert demo.tin == DEMO_TIN
        assert demo.status is TaxpayerStatus.ACTIVE
        assert demo.property_tax_due_mnt > 0
        assert demo.vehicle_tax_due_mnt > 0
        assert demo.tax_year == seed.TAX_YEAR


def test_taxpayers_are_adults_of_the_civil_registry() -> None:
    persons = {p.register_number: p for p in civil_seed.generate().persons}
    rows = seed.generate()
    assert 1800 <= len(rows) <= 2300
    assert len({r.tin for r in rows}) == len({r.register_number for r in rows}) == len(rows)
    for row in rows:
        person = persons[row.register_number]
        assert person.status is Status.ALIVE
        assert register_number_of(row.tin) == row.register_number
        assert (row.registered_since - person.birth_date).days >= 18 * 365  # of age
        assert person.birth_date < row.registered_since < seed.AS_OF


def test_seeded_amounts_are_consistent() -> None:
    rows = seed.generate()
    for row in rows:
        assert isinstance(row.arrears_mnt, int)
        assert row.arrears_mnt >= 0
        assert row.property_tax_due_mnt % 100 == row.vehicle_tax_due_mnt % 100 == 0
        assert row.property_tax_due_mnt > 0 or row.property_tax_paid  # nothing due is settled
        assert row.vehicle_tax_due_mnt > 0 or row.vehicle_tax_paid
        assert (row.last_filing_date is None) == (row.last_filing_period is None)
        if row.last_filing_date is not None:
            assert row.last_filing_date < seed.AS_OF
    assert {row.status for row in rows} == set(TaxpayerStatus)
    assert {row.last_filing_period for row in rows} == {None, "2024", "2025-Q1"}
    assert any(row.arrears_mnt > 0 for row in rows)
    assert any(not row.property_tax_paid for row in rows)
    assert any(not row.vehicle_tax_paid for row in rows)


def test_seed_is_fast_enough_for_first_start(tmp_path: Path) -> None:
    started = time.perf_counter()
    create_app(tax_settings(tmp_path / "tax.db"))
    assert time.perf_counter() - started < 3
