"""The SQLite store (aiosqlite): schema, migrations and one module per table group."""

from .db import (
    SCHEMA_VERSION,
    Connection,
    DamagedDatabaseError,
    DriverError,
    NoDatabaseError,
    StoreError,
    database_files,
    describe_storage_error,
    open_db,
    transaction,
    write_lock,
)

__all__ = [
    "Connection",
    "DamagedDatabaseError",
    "DriverError",
    "SCHEMA_VERSION",
    "NoDatabaseError",
    "StoreError",
    "database_files",
    "describe_storage_error",
    "open_db",
    "transaction",
    "write_lock",
]
