"""Persistence: peewee models, opening the database, migrations."""

from cashier.store.db import SCHEMA_VERSION, connect, migrate, redact
from cashier.store.models import database

__all__ = ["SCHEMA_VERSION", "connect", "database", "migrate", "redact"]
