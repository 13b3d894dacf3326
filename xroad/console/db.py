"""The console's own database: accounts and sessions only (the registry lives in the central
server, the audit logs in the security servers). SQLite by default, or any SQLAlchemy URL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Engine, ForeignKey, Index, String, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ConsoleAccount(Base):
    __tablename__ = "console_account"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    register_number: Mapped[str | None] = mapped_column(String(32))  # citizens only
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC


class ConsoleSession(Base):
    """Only the SHA-256 of a session id is stored: a stolen database opens no session."""

    __tablename__ = "console_session"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("console_account.username", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    expires_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC

    __table_args__ = (Index("ix_console_session_expires", "expires_at"),)


def open_database(url: str) -> Engine:
    """Open (and create the tables of) the console database."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(connection: object, _: object) -> None:
            cursor = connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    Base.metadata.create_all(engine)
    return engine
