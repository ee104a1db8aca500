"""Persistence: peewee models, opening the database, migrations."""

from cashier.store.drivers import import_peewee

import_peewee()  # first, before any model: peewee without psycopg (start-up time and memory)

from cashier.store.db import SCHEMA_VERSION, connect, migrate, redact  # noqa: E402
from cashier.store.models import database  # noqa: E402

__all__ = ["SCHEMA_VERSION", "connect", "database", "migrate", "redact"]
