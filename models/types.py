"""Column types shared by the tables: aware UTC timestamps and enums stored as checked strings."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp. Stored as UTC; always read back as an aware UTC datetime.

    SQLite has no time zone type, so naive values are refused on the way in rather than guessed.
    """
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError('naive datetime given; use an aware datetime (e.g. datetime.now(timezone.utc))')
        value = value.astimezone(timezone.utc)
        return value if dialect.name == 'postgresql' else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def enum_type(enum_class: type[enum.Enum]) -> sa.Enum:
    """Store an enum as its value in a VARCHAR with a CHECK constraint (same on SQLite and PostgreSQL)."""
    return sa.Enum(enum_class, native_enum=False, create_constraint=True, length=24,
                   values_callable=lambda cls: [member.value for member in cls],
                   name=f'{enum_class.__name__.lower()}', validate_strings=True)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
