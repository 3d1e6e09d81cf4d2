"""The SQLite store (aiosqlite): schema, migrations and one module per table group."""

from .db import (
    SCHEMA_VERSION,
    DamagedDatabaseError,
    NoDatabaseError,
    StoreError,
    database_files,
    open_db,
    transaction,
    write_lock,
)

__all__ = [
    "DamagedDatabaseError",
    "SCHEMA_VERSION",
    "NoDatabaseError",
    "StoreError",
    "database_files",
    "open_db",
    "transaction",
    "write_lock",
]
