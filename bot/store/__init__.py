"""The SQLite store (aiosqlite): schema, migrations and one module per table group."""

from .db import (
    SCHEMA_VERSION,
    Connection,
    DamagedDatabaseError,
    NoDatabaseError,
    StoreError,
    database_files,
    open_db,
    transaction,
    write_lock,
)

__all__ = [
    "Connection",
    "DamagedDatabaseError",
    "SCHEMA_VERSION",
    "NoDatabaseError",
    "StoreError",
    "database_files",
    "open_db",
    "transaction",
    "write_lock",
]
