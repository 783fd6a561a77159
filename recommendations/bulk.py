"""Inserting many rows at once: COPY on PostgreSQL, batched INSERTs elsewhere.

For bulk loads only (synthetic corpora for benchmarks, the status service's bulk
path). Rows are tuples in the order of `columns`; values may be None, str, int,
bool, date or datetime. Nothing here validates: callers own their rows.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from itertools import islice

from django.db import connection

CHUNK = 20_000


# COPY's text format: backslash, tab, newline and carriage return are escaped; NULL is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_line(row: Sequence) -> str:
    return (
        "\t".join("\\N" if v is None else v.translate(_COPY_ESCAPES) if isinstance(v, str) else str(v) for v in row)
        + "\n"
    )


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence], *, chunk: int = CHUNK) -> int:
    """Insert `rows` into `table` in chunks; return how many were inserted."""
    rows = iter(rows)
    count = 0
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        while batch := list(islice(rows, chunk)):
            if connection.vendor == "postgresql":
                buffer = io.StringIO("".join(map(_copy_line, batch)))
                cursor.cursor.copy_expert(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN", buffer)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {connection.ops.quote_name(table)} ({names}) VALUES ({marks})", batch)  # noqa: S608
            count += len(batch)
    return count


def next_id(table: str) -> int:
    """Return the first id after the largest in `table` (for rows inserted with explicit ids)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return cursor.fetchone()[0]


def reset_sequences(models: Sequence) -> None:
    """Move id sequences past rows inserted with explicit ids."""
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(statement)
