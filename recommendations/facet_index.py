"""The facet entries and pairs (`FacetEntry`, `FacetPair`), kept in step with the links and the items by the
database itself.

Each link between an item and a theme or an owner has one entry carrying the item's
status, document, level and place in it; each of an item's themes with each of its
owners makes one pair, carrying the same. Triggers keep the entries whoever writes:
the services, the admin's forms (which write the links directly), bulk loads and
plain SQL.

PostgreSQL: statement-level triggers with transition tables, so that a bulk load of
hundreds of thousands of links, or one UPDATE of every item's status, writes the
entries in one set-based statement rather than one per row.

SQLite: row-level triggers. SQLite rebuilds a table for most column changes, which
drops that table's triggers, and fails while a trigger on another table names it; so
the triggers are dropped before migrations run there and installed again, entries
rebuilt, once they have run (`before_sqlite_migrations`, `after_sqlite_migrations`,
connected to Django's migrate signals). A test checks that every trigger in
`sqlite_triggers()` is in place.
"""

# Every statement here is built from this module's constant names, never from input:
# ruff: noqa: S608

from __future__ import annotations

from django.db import connections

from recommendations.models import ItemColumnsCopy

ITEMS = "recommendations_recommendation"
ENTRIES = "recommendations_facetentry"
# kind (FacetEntry.THEME, FacetEntry.OWNER): the link table and its column naming the theme or owner
LINK_TABLES = {
    1: ("recommendations_recommendation_themes", "theme_id"),
    2: ("recommendations_recommendation_owners", "owner_id"),
}
PAIRS = "recommendations_facetpair"
# The item's columns each entry and pair carries, as the models declare them.
ITEM_COLUMNS = tuple(field.column for field in ItemColumnsCopy._meta.local_fields)
_ITEM = ", ".join(f"item.{c}" for c in ITEM_COLUMNS)
_COLUMNS = f"kind, value, recommendation_id, {', '.join(ITEM_COLUMNS)}"
_PAIR_COLUMNS = f"recommendation_id, theme_id, owner_id, {', '.join(ITEM_COLUMNS)}"
THEMES, OWNERS = (LINK_TABLES[1][0], LINK_TABLES[2][0])

# Every entry as the links and the items imply it.
EXPECTED = " UNION ALL ".join(
    f"SELECT {kind} AS kind, link.{column} AS value, item.id AS recommendation_id, {_ITEM} "
    f"FROM {table} link JOIN {ITEMS} item ON item.id = link.recommendation_id"
    for kind, (table, column) in LINK_TABLES.items()
)
STORED = f"SELECT {_COLUMNS} FROM {ENTRIES}"
# Every pair of one of an item's themes and one of its owners.
EXPECTED_PAIRS = (
    f"SELECT item.id AS recommendation_id, t.theme_id, o.owner_id, {_ITEM} "
    f"FROM {THEMES} t JOIN {OWNERS} o ON o.recommendation_id = t.recommendation_id "
    f"JOIN {ITEMS} item ON item.id = t.recommendation_id"
)
STORED_PAIRS = f"SELECT {_PAIR_COLUMNS} FROM {PAIRS}"


def _pairs_of(kind: int, link: str) -> str:
    """SQL: the pairs that new links (rows `link`, of the link table of `kind`) make with the item's other links."""
    other_table = OWNERS if kind == 1 else THEMES
    theme, owner = ("link.theme_id", "other.owner_id") if kind == 1 else ("other.theme_id", "link.owner_id")
    return (
        f"SELECT item.id, {theme}, {owner}, {_ITEM} FROM {link} link "
        f"JOIN {other_table} other ON other.recommendation_id = link.recommendation_id "
        f"JOIN {ITEMS} item ON item.id = link.recommendation_id"
    )


def _pg_statements() -> list[str]:
    statements = []
    for kind, (table, column) in LINK_TABLES.items():
        statements += [
            f"""
            CREATE OR REPLACE FUNCTION {table}_facet_added() RETURNS trigger AS $$
            BEGIN
                INSERT INTO {ENTRIES} ({_COLUMNS})
                SELECT {kind}, added.{column}, item.id, {_ITEM}
                FROM added JOIN {ITEMS} item ON item.id = added.recommendation_id;
                INSERT INTO {PAIRS} ({_PAIR_COLUMNS}) {_pairs_of(kind, "added")};
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql""",
            f"""
            CREATE OR REPLACE FUNCTION {table}_facet_removed() RETURNS trigger AS $$
            BEGIN
                DELETE FROM {ENTRIES} entry USING removed
                WHERE entry.kind = {kind} AND entry.value = removed.{column}
                  AND entry.recommendation_id = removed.recommendation_id;
                DELETE FROM {PAIRS} pair USING removed
                WHERE pair.recommendation_id = removed.recommendation_id AND pair.{column} = removed.{column};
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql""",
            f"DROP TRIGGER IF EXISTS {table}_facet_insert ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_facet_delete ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_facet_update_old ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_facet_update_new ON {table}",
            f"""CREATE TRIGGER {table}_facet_insert AFTER INSERT ON {table}
                REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {table}_facet_added()""",
            f"""CREATE TRIGGER {table}_facet_delete AFTER DELETE ON {table}
                REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION {table}_facet_removed()""",
            # Django never updates a link row, but plain SQL may: the old entry goes, the new one comes.
            f"""CREATE TRIGGER {table}_facet_update_old AFTER UPDATE ON {table}
                REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION {table}_facet_removed()""",
            f"""CREATE TRIGGER {table}_facet_update_new AFTER UPDATE ON {table}
                REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {table}_facet_added()""",
        ]
    changed = " OR ".join(f"entry.{c} IS DISTINCT FROM item.{c}" for c in ITEM_COLUMNS)
    statements += [
        f"""
        CREATE OR REPLACE FUNCTION {ITEMS}_facet_changed() RETURNS trigger AS $$
        BEGIN
            UPDATE {ENTRIES} entry
            SET {", ".join(f"{c} = item.{c}" for c in ITEM_COLUMNS)}
            FROM changed item
            WHERE entry.recommendation_id = item.id AND ({changed});
            UPDATE {PAIRS} entry
            SET {", ".join(f"{c} = item.{c}" for c in ITEM_COLUMNS)}
            FROM changed item
            WHERE entry.recommendation_id = item.id AND ({changed});
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS {ITEMS}_facet_update ON {ITEMS}",
        f"""CREATE TRIGGER {ITEMS}_facet_update AFTER UPDATE ON {ITEMS}
            REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {ITEMS}_facet_changed()""",
    ]
    return statements


def sqlite_triggers() -> dict[str, str]:
    """SQLite's triggers, by name: on each link table, and on the items' filtered columns."""
    triggers = {}
    for kind, (table, column) in LINK_TABLES.items():
        new_link = f"(SELECT new.recommendation_id AS recommendation_id, new.{column} AS {column})"
        triggers[f"{table}_facet_insert"] = f"""
            AFTER INSERT ON {table} BEGIN
                INSERT INTO {ENTRIES} ({_COLUMNS})
                SELECT {kind}, new.{column}, item.id, {_ITEM}
                FROM {ITEMS} item WHERE item.id = new.recommendation_id;
                INSERT INTO {PAIRS} ({_PAIR_COLUMNS}) {_pairs_of(kind, new_link)};
            END"""
        triggers[f"{table}_facet_delete"] = f"""
            AFTER DELETE ON {table} BEGIN
                DELETE FROM {ENTRIES}
                WHERE kind = {kind} AND value = old.{column} AND recommendation_id = old.recommendation_id;
                DELETE FROM {PAIRS} WHERE recommendation_id = old.recommendation_id AND {column} = old.{column};
            END"""
    assignments = ", ".join(f"{c} = new.{c}" for c in ITEM_COLUMNS)
    triggers[f"{ITEMS}_facet_update"] = f"""
        AFTER UPDATE OF {", ".join(ITEM_COLUMNS)} ON {ITEMS} BEGIN
            UPDATE {ENTRIES} SET {assignments} WHERE recommendation_id = new.id;
            UPDATE {PAIRS} SET {assignments} WHERE recommendation_id = new.id;
        END"""
    return triggers


def rebuild(cursor) -> None:
    """Replace every entry with those the links and the items imply (for migrations and repairs)."""
    cursor.execute(f"DELETE FROM {ENTRIES}")
    cursor.execute(f"INSERT INTO {ENTRIES} ({_COLUMNS}) {EXPECTED}")
    cursor.execute(f"DELETE FROM {PAIRS}")
    cursor.execute(f"INSERT INTO {PAIRS} ({_PAIR_COLUMNS}) {EXPECTED_PAIRS}")


def install(schema_editor) -> None:
    """Create (or create again) the triggers, and fill the entries from the links as they are."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for statement in _pg_statements():
            schema_editor.execute(statement)
    elif vendor == "sqlite":
        for name, body in sqlite_triggers().items():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(f"CREATE TRIGGER {name} {body}")
    with schema_editor.connection.cursor() as cursor:
        rebuild(cursor)


def uninstall(schema_editor) -> None:
    """Undo `install`: drop the triggers (the table goes with its migration)."""
    vendor = schema_editor.connection.vendor
    tables = [table for table, _ in LINK_TABLES.values()]
    if vendor == "postgresql":
        for table in tables:
            for suffix in ("insert", "delete", "update_old", "update_new"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_facet_{suffix} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_facet_added()")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_facet_removed()")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {ITEMS}_facet_update ON {ITEMS}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {ITEMS}_facet_changed()")
    elif vendor == "sqlite":
        for name in sqlite_triggers():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def _entries_table_exists(connection) -> bool:
    with connection.cursor() as cursor:
        return {ENTRIES, PAIRS} <= set(connection.introspection.table_names(cursor))


def before_sqlite_migrations(using: str) -> None:
    """On SQLite, drop the triggers before migrations run (see the module's docstring)."""
    connection = connections[using]
    if connection.vendor == "sqlite":
        with connection.schema_editor() as schema_editor:
            uninstall(schema_editor)


def after_sqlite_migrations(using: str) -> None:
    """On SQLite, once migrations have run, install the triggers again and rebuild the entries."""
    connection = connections[using]
    if connection.vendor == "sqlite" and _entries_table_exists(connection):
        with connection.schema_editor() as schema_editor:
            install(schema_editor)
