"""The full-text index each database keeps of every item, whoever writes the item.

An item is found by its title (weighted highest), its quoted text, and the notes of
the links it takes part in (lowest): a link's note is where the tracker says that
the 2018 brief's "port visits" are the 1997 study's "ship visits", so a search for
the one finds the other.

PostgreSQL: the item's stored `search_document` (migration 0004), title as weight A,
text as B, link notes as C, kept by a trigger on the items and one on the links;
ASCII punctuation is read as a space, so that both databases see the same words.

SQLite: an FTS5 table, `recommendations_search` (rowid = the item's id; columns
title, text, links), tokenized by unicode61 without stemming, with diacritics kept
as PostgreSQL keeps them; stemming is applied at query time, by looking up the
indexed words that share a query word's stem (`recommendations_search_terms`, its
fts5vocab table of words; `recommendations_search_instances` has their positions).
Triggers on the items and the links keep it in step, bulk inserts
included.

A migration that makes SQLite rebuild the items table or the links table (Django
does so for most column changes there) drops that table's triggers with it: such a
migration must run `install(schema_editor)` again after its operations (a test
checks that every trigger in `SQLITE_TRIGGERS` is in place).
"""

# Every statement here is built from this module's constant names, never from input:
# ruff: noqa: S608

from __future__ import annotations

ITEMS = "recommendations_recommendation"
LINKS = "recommendations_recommendationlink"
SEARCH_TABLE = "recommendations_search"
TERMS_TABLE = "recommendations_search_terms"
INSTANCES_TABLE = "recommendations_search_instances"
SEARCH_CONFIG = "english"

# --- PostgreSQL -----------------------------------------------------------------------------

# ASCII punctuation becomes a space before PostgreSQL's parser reads the text, so that it finds the
# words SQLite's tokenizer finds: "political/military", "CP-140", "U.N.", "1.5" are two words each,
# as on SQLite, rather than a file name, a signed number, a host name or a decimal.
PG_PUNCTUATION = r"[!-/:-@\[-`{-~]"


def _pg_vector(text_sql: str, weight: str) -> str:
    return (
        f"setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, "
        f"regexp_replace(coalesce({text_sql}, ''), '{PG_PUNCTUATION}', ' ', 'g')), '{weight}')"
    )


_PG_LINK_NOTES = (
    f"(SELECT string_agg(link.note, ' ' ORDER BY link.id) FROM {LINKS} AS link "
    "WHERE link.from_recommendation_id = item_id OR link.to_recommendation_id = item_id)"
)
_PG_DOCUMENT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {ITEMS}_document(item_id bigint, title text, body text) RETURNS tsvector AS $$
    SELECT {_pg_vector("title", "A")} || {_pg_vector("body", "B")} || {_pg_vector(_PG_LINK_NOTES, "C")}
$$ LANGUAGE sql STABLE;
"""
# The items' trigger function of migration 0004, now with the link notes.
_PG_ITEM_TRIGGER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {ITEMS}_search_document() RETURNS trigger AS $$
BEGIN
    NEW.search_document := {ITEMS}_document(NEW.id, NEW.title, NEW.text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
_PG_ITEM_TRIGGER_FUNCTION_0004 = f"""
CREATE OR REPLACE FUNCTION {ITEMS}_search_document() RETURNS trigger AS $$
BEGIN
    NEW.search_document := setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, coalesce(NEW.title, '')), 'A')
        || setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, coalesce(NEW.text, '')), 'B');
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
_PG_LINK_TRIGGER = f"""
CREATE OR REPLACE FUNCTION {LINKS}_search_document() RETURNS trigger AS $$
BEGIN
    UPDATE {ITEMS} AS item SET search_document = {ITEMS}_document(item.id, item.title, item.text)
    WHERE item.id IN (NEW.from_recommendation_id, NEW.to_recommendation_id,
                      OLD.from_recommendation_id, OLD.to_recommendation_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {LINKS}_search_document ON {LINKS};
CREATE TRIGGER {LINKS}_search_document AFTER INSERT OR DELETE OR UPDATE OF note, from_recommendation_id,
    to_recommendation_id ON {LINKS} FOR EACH ROW EXECUTE FUNCTION {LINKS}_search_document();
"""

# --- SQLite ---------------------------------------------------------------------------------


def _sqlite_notes(item_id: str) -> str:
    return (
        f"(SELECT group_concat(note, ' ') FROM {LINKS} "
        f"WHERE from_recommendation_id = {item_id} OR to_recommendation_id = {item_id})"
    )


_SQLITE_TABLES = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5("
    "title, text, links, tokenize = 'unicode61 remove_diacritics 0')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TERMS_TABLE} USING fts5vocab({SEARCH_TABLE}, 'row')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {INSTANCES_TABLE} USING fts5vocab({SEARCH_TABLE}, 'instance')",
]
SQLITE_TRIGGERS = {
    # A new item has no links yet (a link refers to both its items), and the items' triggers never
    # name the links table: rebuilding one table must not break the other's triggers.
    f"{SEARCH_TABLE}_item_insert": f"""
        AFTER INSERT ON {ITEMS} BEGIN
            INSERT INTO {SEARCH_TABLE} (rowid, title, text, links) VALUES (new.id, new.title, new.text, '');
        END""",
    f"{SEARCH_TABLE}_item_update": f"""
        AFTER UPDATE OF title, text ON {ITEMS} BEGIN
            UPDATE {SEARCH_TABLE} SET title = new.title, text = new.text WHERE rowid = new.id;
        END""",
    f"{SEARCH_TABLE}_item_delete": f"""
        AFTER DELETE ON {ITEMS} BEGIN
            DELETE FROM {SEARCH_TABLE} WHERE rowid = old.id;
        END""",
    f"{SEARCH_TABLE}_link_insert": f"""
        AFTER INSERT ON {LINKS} BEGIN
            UPDATE {SEARCH_TABLE} SET links = {_sqlite_notes(f"{SEARCH_TABLE}.rowid")}
            WHERE rowid IN (new.from_recommendation_id, new.to_recommendation_id);
        END""",
    f"{SEARCH_TABLE}_link_update": f"""
        AFTER UPDATE ON {LINKS} BEGIN
            UPDATE {SEARCH_TABLE} SET links = {_sqlite_notes(f"{SEARCH_TABLE}.rowid")}
            WHERE rowid IN (old.from_recommendation_id, old.to_recommendation_id,
                            new.from_recommendation_id, new.to_recommendation_id);
        END""",
    f"{SEARCH_TABLE}_link_delete": f"""
        AFTER DELETE ON {LINKS} BEGIN
            UPDATE {SEARCH_TABLE} SET links = {_sqlite_notes(f"{SEARCH_TABLE}.rowid")}
            WHERE rowid IN (old.from_recommendation_id, old.to_recommendation_id);
        END""",
}


def install(schema_editor) -> None:
    """Create (or create again) the index and its triggers, and fill it from the items as they are."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_PG_DOCUMENT_FUNCTION)
        schema_editor.execute(_PG_ITEM_TRIGGER_FUNCTION)
        schema_editor.execute(_PG_LINK_TRIGGER)
        schema_editor.execute(
            f"UPDATE {ITEMS} AS item SET search_document = {ITEMS}_document(item.id, item.title, item.text)"
        )
    elif vendor == "sqlite":
        for statement in _SQLITE_TABLES:
            schema_editor.execute(statement)
        for name, body in SQLITE_TRIGGERS.items():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(f"CREATE TRIGGER {name} {body}")
        schema_editor.execute(f"DELETE FROM {SEARCH_TABLE}")
        schema_editor.execute(
            f"INSERT INTO {SEARCH_TABLE} (rowid, title, text, links) "
            f"SELECT id, title, text, {_sqlite_notes(f'{ITEMS}.id')} FROM {ITEMS}"
        )


def uninstall(schema_editor) -> None:
    """Undo `install`: PostgreSQL's document is title and text again; SQLite's index is dropped."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {LINKS}_search_document ON {LINKS}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {LINKS}_search_document()")
        schema_editor.execute(_PG_ITEM_TRIGGER_FUNCTION_0004)
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {ITEMS}_document(bigint, text, text)")
        schema_editor.execute(
            f"UPDATE {ITEMS} SET search_document = "
            f"setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, coalesce(title, '')), 'A') || "
            f"setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, coalesce(text, '')), 'B')"
        )
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {INSTANCES_TABLE}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {TERMS_TABLE}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
