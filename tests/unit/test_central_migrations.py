"""The central database's migrations: a new database, an old one, and the models agree."""

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from xroad.central.database import current, head, migrate
from xroad.central.models import Base

FOUNDATION_SCHEMA = """
CREATE TABLE member_class (code VARCHAR(255) PRIMARY KEY, description VARCHAR(1000) NOT NULL);
CREATE TABLE member (id INTEGER PRIMARY KEY, member_class VARCHAR(255) NOT NULL
    REFERENCES member_class(code), member_code VARCHAR(255) NOT NULL,
    name VARCHAR(1000) NOT NULL, UNIQUE (member_class, member_code));
CREATE TABLE security_server (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL
    REFERENCES member(id), server_code VARCHAR(255) NOT NULL, address VARCHAR(1000) NOT NULL,
    UNIQUE (owner_id, server_code));
CREATE TABLE server_client (id INTEGER PRIMARY KEY, server_id INTEGER NOT NULL
    REFERENCES security_server(id), client VARCHAR(1000) NOT NULL, UNIQUE (server_id, client));
INSERT INTO member_class VALUES ('GOV', 'government');
INSERT INTO member VALUES (1, 'GOV', 'GASR', 'General Authority for State Registration');
INSERT INTO security_server VALUES (1, 1, 'ss1', 'https://127.0.0.1:5501');
INSERT INTO server_client VALUES (1, 1, 'MN/GOV/GASR/civil-registry');
"""


def test_a_new_database_gets_the_newest_schema_matching_the_models(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/c.db")
    assert migrate(engine) == head()
    assert current(engine) == head()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert migrate(engine) == head()  # idempotent


def test_a_database_of_the_foundation_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(FOUNDATION_SCHEMA)
    engine = create_engine(f"sqlite:///{path}")
    assert current(engine) is None  # made before migrations existed
    migrate(engine)
    assert current(engine) == head()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT client, enabled FROM server_client").fetchall() == [
            ("MN/GOV/GASR/civil-registry", 1)]
        assert conn.execute("SELECT auto_approve FROM member_class").fetchall() == [(0,)]
    assert "registration_request" in inspect(engine).get_table_names()
