"""Rules that only the database can keep for every writer, plain SQL included.

An append-only table gets a trigger that refuses UPDATE, and on PostgreSQL
DELETE too. SQLite keeps DELETE open because Django's test flush empties
tables with DELETE there (PostgreSQL's flush uses TRUNCATE, which row
triggers do not see); the models and querysets refuse deletes on both.
"""

from __future__ import annotations


def add_append_only_trigger(schema_editor, table: str, message: str) -> None:
    """Make `table` refuse UPDATE (and DELETE on PostgreSQL) with `message`."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"""
            CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{message}';
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
            """
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END;"
        )


def remove_append_only_trigger(schema_editor, table: str) -> None:
    """Undo `add_append_only_trigger`."""
    postgresql = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
