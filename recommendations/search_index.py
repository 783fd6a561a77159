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

An item is found by its titles in French and Japanese too (`title_fr`, `title_ja`; migration 0016):
their words as written, lower-cased, without stemming or stop words (PostgreSQL's `simple`
configuration, as weight D; SQLite's `translations` column), so that an English word never finds a
French one through the English stemmer ("visit" is not "visites"); a search finds a term in the
translated titles when it is written there, and ranks it as found in the title. Japanese is
indexed as pairs of characters: every text goes through `recommendations.cjk.search_form` before
either database reads it (PostgreSQL's function of that name in SQL, SQLite's the Python one,
registered on each of its connections, which its triggers call: a client without it, such as the
sqlite3 shell, cannot write items). Text without CJK characters is read as before.

A migration that makes SQLite rebuild the items table or the links table (Django
does so for most column changes there) drops that table's triggers with it: such a
migration must run `install(schema_editor)` again after its operations (a test
checks that every trigger in `SQLITE_TRIGGERS` is in place).
"""

# Every statement here is built from this module's constant names, never from input:
# ruff: noqa: S608

from __future__ import annotations

from recommendations.cjk import PG_DROP_SEARCH_FORM_FUNCTION, PG_SEARCH_FORM_FUNCTION, SQL_FUNCTION

ITEMS = "recommendations_recommendation"
LINKS = "recommendations_recommendationlink"
SEARCH_TABLE = "recommendations_search"
TERMS_TABLE = "recommendations_search_terms"
INSTANCES_TABLE = "recommendations_search_instances"
SEARCH_CONFIG = "english"
# The translated titles: words as written (lower-cased), and the weight they have in PostgreSQL's document.
TRANSLATIONS_CONFIG = "simple"
TRANSLATIONS_WEIGHT = "D"
# The translated titles, in order (read as one text), and the column that holds them in SQLite's index.
TRANSLATED_TITLES = ("title_fr", "title_ja")
TRANSLATIONS_COLUMN = "translations"

# --- PostgreSQL -----------------------------------------------------------------------------

# ASCII punctuation becomes a space before PostgreSQL's parser reads the text, so that it finds the
# words SQLite's tokenizer finds: "political/military", "CP-140", "U.N.", "1.5" are two words each,
# as on SQLite, rather than a file name, a signed number, a host name or a decimal.
PG_PUNCTUATION = r"[!-/:-@\[-`{-~]"


def _pg_vector(text_sql: str, weight: str, form: bool = True, config: str = SEARCH_CONFIG) -> str:
    text_sql = f"coalesce({text_sql}, '')"
    if form:
        text_sql = f"{SQL_FUNCTION}({text_sql})"
    return (
        f"setweight(to_tsvector('{config}'::regconfig, "
        f"regexp_replace({text_sql}, '{PG_PUNCTUATION}', ' ', 'g')), '{weight}')"
    )


def _translated(row: str) -> str:
    """The item's translated titles as one text (SQL), on `row` (`NEW.`, `item.`)."""
    return "concat_ws(' ', " + ", ".join(f"{row}{name}" for name in TRANSLATED_TITLES) + ")"


_PG_LINK_NOTES = (
    f"(SELECT string_agg(link.note, ' ' ORDER BY link.id) FROM {LINKS} AS link "
    "WHERE link.from_recommendation_id = item_id OR link.to_recommendation_id = item_id)"
)
_PG_DOCUMENT_FUNCTION_0011 = f"""
CREATE OR REPLACE FUNCTION {ITEMS}_document(item_id bigint, title text, body text) RETURNS tsvector AS $$
    SELECT {_pg_vector("title", "A", False)} || {_pg_vector("body", "B", False)}
        || {_pg_vector(_PG_LINK_NOTES, "C", False)}
$$ LANGUAGE sql STABLE;
"""
_PG_DOCUMENT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {ITEMS}_document(item_id bigint, title text, body text, translated text)
RETURNS tsvector AS $$
    SELECT {_pg_vector("title", "A")} || {_pg_vector("body", "B")} || {_pg_vector(_PG_LINK_NOTES, "C")}
        || {_pg_vector("translated", TRANSLATIONS_WEIGHT, config=TRANSLATIONS_CONFIG)}
$$ LANGUAGE sql STABLE;
"""


def _pg_document(row: str, translations: bool = True) -> str:
    """The call of the document function for the item `row` (`NEW.`, `item.`)."""
    more = f", {_translated(row)}" if translations else ""
    return f"{ITEMS}_document({row}id, {row}title, {row}text{more})"


# The items' trigger function of migration 0004, now with the link notes (and the translated titles).
def _pg_item_trigger_function(translations: bool = True) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {ITEMS}_search_document() RETURNS trigger AS $$
BEGIN
    NEW.search_document := {_pg_document("NEW.", translations)};
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


# The items' trigger of migration 0004, on a change of any column the document reads.
def _pg_item_trigger(translations: bool = True) -> str:
    columns = ", ".join(["title", "text", *(TRANSLATED_TITLES if translations else ())])
    return f"""
DROP TRIGGER IF EXISTS {ITEMS}_search_document ON {ITEMS};
CREATE TRIGGER {ITEMS}_search_document BEFORE INSERT OR UPDATE OF {columns} ON {ITEMS}
    FOR EACH ROW EXECUTE FUNCTION {ITEMS}_search_document();
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


def _pg_link_trigger(translations: bool = True) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {LINKS}_search_document() RETURNS trigger AS $$
BEGIN
    UPDATE {ITEMS} AS item SET search_document = {_pg_document("item.", translations)}
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


def _form(sql: str, translations: bool) -> str:
    return f"{SQL_FUNCTION}({sql})" if translations else sql


def _sqlite_notes(item_id: str, translations: bool = True) -> str:
    notes = (
        f"(SELECT group_concat(note, ' ') FROM {LINKS} "
        f"WHERE from_recommendation_id = {item_id} OR to_recommendation_id = {item_id})"
    )
    return _form(notes, translations)


def _sqlite_translated(row: str) -> str:
    """The item's translated titles as one text, in CJK pairs (SQL), on `row` (`new.`, or a table name and a dot)."""
    return _form(" || ' ' || ".join(f"coalesce({row}{name}, '')" for name in TRANSLATED_TITLES), True)


def _sqlite_tables(translations: bool = True) -> list[str]:
    more = f", {TRANSLATIONS_COLUMN}" if translations else ""
    return [
        f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5("
        f"title, text, links{more}, tokenize = 'unicode61 remove_diacritics 0')",
        f"CREATE VIRTUAL TABLE {TERMS_TABLE} USING fts5vocab({SEARCH_TABLE}, 'row')",
        f"CREATE VIRTUAL TABLE {INSTANCES_TABLE} USING fts5vocab({SEARCH_TABLE}, 'instance')",
    ]


def _sqlite_item_values(row: str, translations: bool = True) -> dict[str, str]:
    """The index's columns of an item (links aside), each with its value (SQL), on `row`."""
    values = {"title": _form(f"{row}title", translations), "text": _form(f"{row}text", translations)}
    if translations:
        values[TRANSLATIONS_COLUMN] = _sqlite_translated(row)
    return values


def sqlite_triggers(translations: bool = True) -> dict[str, str]:
    """The triggers that keep SQLite's index in step (`translations`: with the translated titles, CJK in pairs)."""
    t = translations
    updated = ", ".join(["title", "text", *(TRANSLATED_TITLES if t else ())])
    item = _sqlite_item_values("new.", t)
    columns, values = ", ".join(item), ", ".join(item.values())
    assignments = ", ".join(f"{column} = {value}" for column, value in item.items())
    notes = _sqlite_notes(f"{SEARCH_TABLE}.rowid", t)
    return {
        # A new item has no links yet (a link refers to both its items), and the items' triggers never
        # name the links table: rebuilding one table must not break the other's triggers.
        f"{SEARCH_TABLE}_item_insert": f"""
            AFTER INSERT ON {ITEMS} BEGIN
                INSERT INTO {SEARCH_TABLE} (rowid, {columns}, links) VALUES (new.id, {values}, '');
            END""",
        f"{SEARCH_TABLE}_item_update": f"""
            AFTER UPDATE OF {updated} ON {ITEMS} BEGIN
                UPDATE {SEARCH_TABLE} SET {assignments} WHERE rowid = new.id;
            END""",
        f"{SEARCH_TABLE}_item_delete": f"""
            AFTER DELETE ON {ITEMS} BEGIN
                DELETE FROM {SEARCH_TABLE} WHERE rowid = old.id;
            END""",
        f"{SEARCH_TABLE}_link_insert": f"""
            AFTER INSERT ON {LINKS} BEGIN
                UPDATE {SEARCH_TABLE} SET links = {notes}
                WHERE rowid IN (new.from_recommendation_id, new.to_recommendation_id);
            END""",
        f"{SEARCH_TABLE}_link_update": f"""
            AFTER UPDATE ON {LINKS} BEGIN
                UPDATE {SEARCH_TABLE} SET links = {notes}
                WHERE rowid IN (old.from_recommendation_id, old.to_recommendation_id,
                                new.from_recommendation_id, new.to_recommendation_id);
            END""",
        f"{SEARCH_TABLE}_link_delete": f"""
            AFTER DELETE ON {LINKS} BEGIN
                UPDATE {SEARCH_TABLE} SET links = {notes}
                WHERE rowid IN (old.from_recommendation_id, old.to_recommendation_id);
            END""",
    }


SQLITE_TRIGGERS = sqlite_triggers()


def install(schema_editor, *, translations: bool = True) -> None:
    """Create (or create again) the index and its triggers, and fill it from the items as they are.

    `translations=False`: the index of migration 0011, English titles only and no CJK pairs (for the
    migrations that run before the translated titles exist, and to undo migration 0016).
    """
    t = translations
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        if t:
            schema_editor.execute(PG_SEARCH_FORM_FUNCTION)
        schema_editor.execute(_PG_DOCUMENT_FUNCTION if t else _PG_DOCUMENT_FUNCTION_0011)
        schema_editor.execute(_pg_item_trigger_function(t))
        schema_editor.execute(_pg_item_trigger(t))
        schema_editor.execute(_pg_link_trigger(t))
        schema_editor.execute(f"UPDATE {ITEMS} AS item SET search_document = {_pg_document('item.', t)}")
        # The other version's document function (and the CJK rule, when going back) is no longer called.
        if t:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {ITEMS}_document(bigint, text, text)")
        else:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {ITEMS}_document(bigint, text, text, text)")
            schema_editor.execute(PG_DROP_SEARCH_FORM_FUNCTION)
    elif vendor == "sqlite":
        _sqlite_drop(schema_editor)
        for statement in _sqlite_tables(t):
            schema_editor.execute(statement)
        for name, body in sqlite_triggers(t).items():
            schema_editor.execute(f"CREATE TRIGGER {name} {body}")
        item = _sqlite_item_values(f"{ITEMS}.", t)
        schema_editor.execute(
            f"INSERT INTO {SEARCH_TABLE} (rowid, {', '.join(item)}, links) "
            f"SELECT id, {', '.join(item.values())}, {_sqlite_notes(f'{ITEMS}.id', t)} FROM {ITEMS}"
        )


def _sqlite_drop(schema_editor) -> None:
    for name in SQLITE_TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {INSTANCES_TABLE}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TERMS_TABLE}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")


def uninstall(schema_editor) -> None:
    """Undo `install`: PostgreSQL's document is title and text again; SQLite's index is dropped."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {LINKS}_search_document ON {LINKS}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {LINKS}_search_document()")
        schema_editor.execute(_PG_ITEM_TRIGGER_FUNCTION_0004)
        schema_editor.execute(_pg_item_trigger(translations=False))
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {ITEMS}_document(bigint, text, text)")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {ITEMS}_document(bigint, text, text, text)")
        schema_editor.execute(PG_DROP_SEARCH_FORM_FUNCTION)
        schema_editor.execute(
            f"UPDATE {ITEMS} SET search_document = "
            f"setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, coalesce(title, '')), 'A') || "
            f"setweight(to_tsvector('{SEARCH_CONFIG}'::regconfig, coalesce(text, '')), 'B')"
        )
    elif vendor == "sqlite":
        _sqlite_drop(schema_editor)
