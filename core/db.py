"""Database plumbing shared by the action server and the web app.

One engine and one ``sessionmaker`` per process, made on first use (never at import). Callers open one short
``with session_scope() as session:`` per action run or request; the repositories take that session as an argument.
Engines hide SQL parameters in their errors and logs (``hide_parameters``): they hold names, phones and messages.
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator, Optional

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

Base = declarative_base()

_lock = threading.Lock()
_engine: Optional[Engine] = None
_session_factory: Optional[sessionmaker] = None


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        from core.settings import get_settings

        busy = max(1, get_settings().db_busy_timeout)
        from pathlib import Path

        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, future=True, hide_parameters=True, connect_args={"check_same_thread": False, "timeout": busy}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy * 1000}")
            cursor.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)


def configure(url: Optional[str] = None) -> sessionmaker:
    """(Re)configure the process-wide engine; tests call this with a temporary database URL."""
    global _engine, _session_factory
    from core.settings import get_settings

    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = _make_engine(url or get_settings().database_url)
        _session_factory = sessionmaker(bind=_engine, future=True, expire_on_commit=False)
        return _session_factory


def get_engine() -> Engine:
    if _engine is None:
        configure()
    assert _engine is not None
    return _engine


def session_factory() -> sessionmaker:
    if _session_factory is None:
        configure()
    assert _session_factory is not None
    return _session_factory


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: commits on success, rolls back on error."""
    with session_factory().begin() as session:
        yield session


def import_all_models() -> None:
    """Import every module that declares tables so ``Base.metadata`` knows them all."""
    import importlib
    import pkgutil

    import core

    for module in pkgutil.walk_packages(core.__path__, prefix="core."):
        if module.name.endswith(".models"):
            importlib.import_module(module.name)


def create_schema(engine: Optional[Engine] = None) -> None:
    """Bring the database to the newest schema revision (Alembic, core/migrations; called by ``make db`` and the
    loaders, never at import). A database made before migrations existed is brought up to the baseline first."""
    from core.migrate import upgrade

    upgrade(engine or get_engine())


def add_missing_columns(engine: Engine) -> list:
    """``ALTER TABLE … ADD COLUMN`` for every nullable column of the models that an existing table lacks; returns
    the ``table.column`` names added. Only for databases from before migrations existed (core.migrate); every
    later change is an Alembic revision."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    existing_tables = set(inspector.get_table_names())
    added = []
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in existing_tables:
                continue
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present or not column.nullable or column.primary_key:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
                added.append(f"{table.name}.{column.name}")
    return added


def now() -> datetime:
    """The time as the tables store it: naive UTC."""
    return datetime.utcnow()


def hash_token(token: str) -> str:
    """How random tokens (sessions, poll tokens, API tokens) are stored: their SHA-256, never the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
