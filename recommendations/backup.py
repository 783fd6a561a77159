"""Backup and restore of everything the tracker holds, as one JSON document.

`export_tracker FILE` writes the document; `import_tracker FILE` loads it into
an empty database (after `migrate`), so that the restored tracker serves the
same data as the one it came from: users (with password hashes, groups and
permissions) and their API tokens, sources with their full text, themes,
owners, items with their version and times, links, evidence with its
retractions and the last check of its web address, the whole status log and
edit history, with each row's authorship, and what the seed last wrote.

Every row keeps its primary key, so URLs and ids that users and scripts hold
stay valid. Columns the database derives (the search document) are not
carried; the restored database computes them again. References between rows name the referenced row's natural key
(an item's code, a slug, a username); evidence, which has no natural key, is
referred to by id. Every concrete field of a model is carried, so a field added
later travels without a change here; a new relation must be declared below
(the export refuses one it does not know).

The status log, evidence and edit history are append-only: the import only ever inserts into them.
"""

from __future__ import annotations

import datetime
import gzip
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.postgres.search import SearchVectorField
from django.contrib.sessions.models import Session
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from recommendations import facet_index
from recommendations.derived import rebuild_status_periods
from recommendations.models import (
    Evidence,
    EvidenceLinkCheck,
    EvidenceRetraction,
    FacetEntry,
    FacetPair,
    Owner,
    Recommendation,
    RecommendationEdit,
    RecommendationLink,
    SeededValues,
    Source,
    StatusChange,
    StatusPeriod,
    Theme,
)

FORMAT = "canada-japan-tracker-backup"
FORMAT_VERSION = 1
BATCH_SIZE = 1000

ERROR_NOT_EMPTY = (
    "The database already holds {what}. A backup is restored into an empty database: create one, run "
    "`python manage.py migrate`, and import again; or pass --replace to delete everything this database holds "
    "(items, status history, users, tokens) and load the backup in its place."
)
ERROR_NOT_A_BACKUP = "{name} is not a tracker backup (expected a JSON document with format {format!r})."
ERROR_FORMAT_VERSION = "{name} is a backup of format version {found}; this tracker reads version {wanted}."
ERROR_UNKNOWN_REFERENCE = "{section}, row {index}: {field} refers to {value!r}, which is not in the backup."
ERROR_MISSING_FIELD = "{section}, row {index}: the field {field!r} is missing."
ERROR_COUNT_MISMATCH = "{section}: the backup announces {expected} rows but {found} were loaded."


class BackupError(Exception):
    """The backup cannot be written or read; the message says what to do."""


User = get_user_model()


@dataclass(frozen=True)
class Ref:
    """A foreign key carried as the referenced row's natural key (or id)."""

    model: type[models.Model]
    key: str


@dataclass(frozen=True)
class Table:
    """One section of the document: a model, how its relations are named, and its order."""

    section: str
    model: type[models.Model]
    refs: dict[str, Ref] = field(default_factory=dict)
    many: dict[str, Ref] = field(default_factory=dict)
    order_by: tuple[str, ...] = ("pk",)
    # Relations deliberately not carried in this section (restored from another one).
    skip: frozenset[str] = frozenset()
    # A section that backups made before it existed lack: they restore with it empty.
    optional: bool = False


USERNAME = User.USERNAME_FIELD
USER_REF = Ref(User, USERNAME)

# Sections in load order: a row only refers to rows of earlier sections (or, for
# an item's parent, to rows of its own section).
TABLES: tuple[Table, ...] = (
    Table("users", User, many={"groups": Ref(Group, "name")}, skip=frozenset({"user_permissions"})),
    Table("tokens", Token, refs={"user": USER_REF}),
    Table("sources", Source),
    Table("themes", Theme),
    Table("owners", Owner),
    Table(
        "recommendations",
        Recommendation,
        refs={
            "source": Ref(Source, "slug"),
            "parent": Ref(Recommendation, "code"),
            "steward": USER_REF,
        },
        many={"themes": Ref(Theme, "slug"), "owners": Ref(Owner, "slug")},
        skip=frozenset({"related"}),  # carried by "links"
    ),
    Table(
        "links",
        RecommendationLink,
        refs={"from_recommendation": Ref(Recommendation, "code"), "to_recommendation": Ref(Recommendation, "code")},
    ),
    Table(
        "evidence",
        Evidence,
        refs={"recommendation": Ref(Recommendation, "code"), "source": Ref(Source, "slug"), "added_by": USER_REF},
    ),
    Table(
        "status_changes",
        StatusChange,
        refs={
            "recommendation": Ref(Recommendation, "code"),
            "recorded_by": USER_REF,
            "evidence": Ref(Evidence, "id"),
        },
    ),
    Table("evidence_retractions", EvidenceRetraction, refs={"evidence": Ref(Evidence, "id"), "retracted_by": USER_REF}),
    # What the last visit of each evidence web address found: an observation, not the record, but one that
    # took a run of checks to make (a link is dead after two failures in a row), so it is kept.
    Table("evidence_link_checks", EvidenceLinkCheck, refs={"evidence": Ref(Evidence, "id")}, optional=True),
    Table("edits", RecommendationEdit, refs={"recommendation": Ref(Recommendation, "code"), "edited_by": USER_REF}),
    # What the seed last wrote, so that a restored tracker's next seed keeps what analysts changed.
    Table("seeded_values", SeededValues),
)
TABLES_BY_SECTION = {table.section: table for table in TABLES}
# Derived from the record (recommendations.derived): never carried, rebuilt after a load.
DERIVED_MODELS: tuple[type[models.Model], ...] = (StatusPeriod, FacetEntry, FacetPair)

# What "empty" means for an import: no tracker rows, no users, no tokens.
# (Groups and permissions are created by the migrations and do not count.)
CONTENT_MODELS: tuple[type[models.Model], ...] = tuple(table.model for table in TABLES)


# --- reading and writing values ---------------------------------------------------
def _derived(f: models.Field) -> bool:
    """Return True for a column the database computes itself (a search document, a generated column)."""
    return isinstance(f, SearchVectorField) or getattr(f, "generated", False)


def _plain_fields(model: type[models.Model]) -> list[models.Field]:
    """Return the model's concrete columns that are not relations (including the primary key).

    Columns the database derives from others are left out: the restored database derives them again.
    """
    return [f for f in model._meta.concrete_fields if not f.is_relation and not _derived(f)]


def _check_relations_declared(table: Table) -> None:
    declared = set(table.refs) | set(table.many) | table.skip
    for f in table.model._meta.get_fields():
        if f.concrete and f.is_relation and f.name not in declared:
            raise BackupError(
                f"{table.model.__name__}.{f.name} is a relation the backup does not know how to carry; "
                "declare it in recommendations/backup.py."
            )


def _dump_value(value: Any) -> Any:
    # Full precision: DjangoJSONEncoder would cut datetimes to milliseconds.
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return value


def _permission_key(permission: Permission) -> list[str]:
    return list(permission.natural_key())


# --- export -----------------------------------------------------------------------
@contextmanager
def _snapshot() -> Iterator[None]:
    """Read everything from one consistent snapshot, even while the tracker is in use."""
    outermost = not connection.in_atomic_block
    if outermost:
        # A pending health check would otherwise be the transaction's first query.
        connection.close_if_health_check_failed()
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # Must be the transaction's first statement; inside an outer transaction, that one's view is used.
            connection.cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _rows(table: Table) -> Iterator[dict[str, Any]]:
    plain = _plain_fields(table.model)
    related = [*table.refs, *table.many]
    queryset = table.model._default_manager.order_by(*table.order_by)
    if table.refs:
        queryset = queryset.select_related(*table.refs)
    if table.many:
        queryset = queryset.prefetch_related(*table.many)
    for obj in queryset.iterator(chunk_size=BATCH_SIZE):
        row = {f.attname: _dump_value(getattr(obj, f.attname)) for f in plain}
        for name in related:
            if name in table.refs:
                target = getattr(obj, name)
                row[name] = None if target is None else getattr(target, table.refs[name].key)
            else:
                ref = table.many[name]
                row[name] = sorted(getattr(item, ref.key) for item in getattr(obj, name).all())
        if table.model is User:
            row["permissions"] = sorted(_permission_key(p) for p in obj.user_permissions.select_related("content_type"))
        yield row


def _groups() -> list[dict[str, Any]]:
    return [
        {
            "name": group.name,
            "permissions": sorted(_permission_key(p) for p in group.permissions.select_related("content_type")),
        }
        for group in Group.objects.order_by("name")
    ]


def export_tracker(out: IO[str], *, include_tokens: bool = True, progress: Callable[[str], None] | None = None) -> dict:
    """Write the whole tracker to `out` as one JSON document; return the row counts."""
    progress = progress or (lambda message: None)
    tables = [t for t in TABLES if include_tokens or t.model is not Token]
    for table in tables:
        _check_relations_declared(table)
    with _snapshot():
        counts = {table.section: table.model._default_manager.count() for table in tables}
        groups = _groups()
        counts = {"groups": len(groups), **counts}
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "exported_at": timezone.now().isoformat(),
            "database": connection.vendor,
            "counts": counts,
        }
        out.write("{\n")
        for key, value in header.items():
            out.write(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
        out.write(f'"groups": {json.dumps(groups, ensure_ascii=False)}')
        for table in tables:
            progress(f"Exporting {counts[table.section]} {table.section.replace('_', ' ')}…")
            out.write(f",\n{json.dumps(table.section)}: [")
            for index, row in enumerate(_rows(table)):
                out.write(",\n  " if index else "\n  ")
                out.write(json.dumps(row, ensure_ascii=False))
            out.write("\n]")
        out.write("\n}\n")
    return counts


# --- import -----------------------------------------------------------------------
def database_contents() -> dict[str, int]:
    """Return the number of rows of each kind that an import must find empty."""
    return {table.section: table.model._default_manager.count() for table in TABLES}


def _describe(contents: dict[str, int]) -> str:
    found = [f"{count} {section.replace('_', ' ')}" for section, count in contents.items() if count]
    return ", ".join(found)


def _clear_database() -> None:
    """Delete every user, token, session, admin log entry and tracker row, in the current transaction.

    This is the one place that removes status history; it runs only for `import_tracker --replace`, where
    the backup brings the history back. On PostgreSQL it uses TRUNCATE, which the status log's row trigger
    does not see.
    """
    models_to_clear = [*CONTENT_MODELS, *DERIVED_MODELS, LogEntry, Session]
    tables = set()
    for model in models_to_clear:
        tables.add(model._meta.db_table)
        for m2m in model._meta.local_many_to_many:
            tables.add(m2m.remote_field.through._meta.db_table)
    existing = set(connection.introspection.table_names())
    sql = connection.ops.sql_flush(no_style(), sorted(tables & existing), reset_sequences=True, allow_cascade=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE refuses tables with deferred foreign-key checks pending in this transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in sql:
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@dataclass
class _Loader:
    document: dict[str, Any]
    progress: Callable[[str], None]
    warnings: list[str] = field(default_factory=list)
    # natural key value -> primary key, per referenced model
    keys: dict[type[models.Model], dict[Any, Any]] = field(default_factory=dict)

    def load(self) -> dict[str, int]:
        loaded = {"groups": self.load_groups()}
        for table in TABLES:
            if table.section not in self.document:
                if table.model is Token or table.optional:
                    continue  # exported with --no-tokens, or before the section existed
                raise BackupError(f"The backup has no {table.section!r} section.")
            loaded[table.section] = self.load_table(table)
        self.load_user_permissions()
        self.reset_sequences()
        return loaded

    # groups and permissions, matched by name and natural key
    def permission(self, key: list[str]) -> Permission | None:
        codename, app_label, model = key
        found = Permission.objects.filter(
            codename=codename, content_type__app_label=app_label, content_type__model=model
        ).first()
        if found is None:
            self.warnings.append(f"Permission {app_label}.{codename} does not exist here; left out.")
        return found

    def load_groups(self) -> int:
        groups = self.document.get("groups", [])
        self.progress(f"Loading {len(groups)} groups…")
        for entry in groups:
            group, _ = Group.objects.get_or_create(name=entry["name"])
            group.permissions.set([p for p in map(self.permission, entry.get("permissions", [])) if p])
        self.keys[Group] = dict(Group.objects.values_list("name", "pk"))
        return len(groups)

    def load_user_permissions(self) -> None:
        through = User.user_permissions.through
        links = []
        for entry in self.document["users"]:
            user_id = self.keys[User][entry[USERNAME]]
            for key in entry.get("permissions", []):
                permission = self.permission(key)
                if permission:
                    links.append(through(user_id=user_id, permission_id=permission.pk))
        through.objects.bulk_create(links, batch_size=BATCH_SIZE)

    # one section
    def resolve(self, ref: Ref, value: Any, where: tuple[str, int, str]) -> Any:
        if value is None:
            return None
        try:
            return self.keys[ref.model][value]
        except KeyError:
            section, index, name = where
            raise BackupError(
                ERROR_UNKNOWN_REFERENCE.format(section=section, index=index, field=name, value=value)
            ) from None

    def load_table(self, table: Table) -> int:
        rows = self.document.get(table.section, [])  # a section added later is empty in an older backup
        model = table.model
        self.progress(f"Loading {len(rows)} {table.section.replace('_', ' ')}…")
        plain = _plain_fields(model)
        pk_name = model._meta.pk.attname
        key_map = self.keys.setdefault(model, {})
        natural = {ref.key for t in TABLES for ref in (*t.refs.values(), *t.many.values()) if ref.model is model}

        # Natural keys of this section are known up front, so an item may name a parent that comes later.
        for index, row in enumerate(rows):
            for key in natural:
                if key not in row:
                    raise BackupError(ERROR_MISSING_FIELD.format(section=table.section, index=index, field=key))
                key_map[row[key]] = row[pk_name] if key != pk_name else row[key]

        objects = []
        many: dict[str, list[models.Model]] = {name: [] for name in table.many}
        auto_times = [f for f in plain if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
        for index, row in enumerate(rows):
            values = {}
            for f in plain:
                if f.attname not in row:
                    if f.has_default() or f.null:
                        continue  # a field added after the backup was made takes its default
                    raise BackupError(ERROR_MISSING_FIELD.format(section=table.section, index=index, field=f.attname))
                values[f.attname] = f.to_python(row[f.attname])
            for name, ref in table.refs.items():
                values[model._meta.get_field(name).attname] = self.resolve(
                    ref, row.get(name), (table.section, index, name)
                )
            obj = model(**values)
            objects.append(obj)
            for name, ref in table.many.items():
                through = getattr(model, name).through
                source_col = model._meta.get_field(name).m2m_field_name() + "_id"
                target_col = model._meta.get_field(name).m2m_reverse_field_name() + "_id"
                for value in row.get(name, []):
                    target = self.resolve(ref, value, (table.section, index, name))
                    many[name].append(through(**{source_col: obj.pk, target_col: target}))

        if model is Recommendation:
            objects = _parents_first(objects)
        model._default_manager.bulk_create(objects, batch_size=BATCH_SIZE)
        for name, links in many.items():
            getattr(model, name).through.objects.bulk_create(links, batch_size=BATCH_SIZE)
        # bulk_create stamps auto_now(_add) fields with the current time; put the recorded ones back.
        for f in auto_times:
            for row in rows:
                model._default_manager.filter(pk=row[pk_name]).update(**{f.attname: f.to_python(row[f.attname])})
        return len(objects)

    def reset_sequences(self) -> None:
        """Move each table's id sequence past the restored ids, so new rows do not collide."""
        sql = connection.ops.sequence_reset_sql(no_style(), [table.model for table in TABLES])
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)


def _parents_first(items: list[Recommendation]) -> list[Recommendation]:
    """Order items so that each one's parent is inserted before it."""
    placed: set[Any] = set()
    ordered: list[Recommendation] = []
    pending = items
    while pending:
        ready = [item for item in pending if item.parent_id is None or item.parent_id in placed]
        if not ready:  # a cycle; the database's constraints will say which
            ordered.extend(pending)
            break
        placed.update(item.pk for item in ready)
        ordered.extend(ready)
        pending = [item for item in pending if item.pk not in placed]
    return ordered


def read_document(handle: IO[str], name: str) -> dict[str, Any]:
    """Parse a backup document and check that this tracker can read it."""
    try:
        document = json.load(handle)
    except json.JSONDecodeError as exc:
        raise BackupError(f"{name} is not valid JSON: {exc}.") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BackupError(ERROR_NOT_A_BACKUP.format(name=name, format=FORMAT))
    if document.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            ERROR_FORMAT_VERSION.format(name=name, found=document.get("format_version"), wanted=FORMAT_VERSION)
        )
    return document


@transaction.atomic
def import_tracker(
    document: dict[str, Any], *, replace: bool = False, progress: Callable[[str], None] | None = None
) -> tuple[dict[str, int], list[str]]:
    """Load a backup document into this database in one transaction; return (row counts, warnings).

    Refuses a database that already holds users or tracker rows unless `replace` is given,
    in which case all of them are deleted first (in the same transaction).
    """
    progress = progress or (lambda message: None)
    contents = database_contents()
    if any(contents.values()):
        if not replace:
            raise BackupError(ERROR_NOT_EMPTY.format(what=_describe(contents)))
        progress(f"Deleting what the database holds ({_describe(contents)})…")
        _clear_database()
    loader = _Loader(document, progress)
    loaded = loader.load()
    progress("Deriving the status periods from the status log, and the facet entries from the links…")
    rebuild_status_periods()
    with connection.cursor() as cursor:
        # The triggers wrote them as the links came in; written again from the whole record, in one pass.
        facet_index.rebuild(cursor)
    announced = document.get("counts", {})
    for section, expected in announced.items():
        if section in loaded and loaded[section] != expected:
            raise BackupError(ERROR_COUNT_MISMATCH.format(section=section, expected=expected, found=loaded[section]))
    return loaded, loader.warnings


# --- files ------------------------------------------------------------------------
@contextmanager
def open_for_writing(path: str) -> Iterator[IO[str]]:
    """Open FILE for the export ("-" is standard output; a name ending in .gz is compressed).

    The file holds password hashes and API tokens, so only its owner may read it.
    """
    if path == "-":
        yield sys.stdout
        return
    target = Path(path)
    temporary = target.with_name(f".{target.name}.partial")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    raw = os.fdopen(descriptor, "wb")
    try:
        binary = gzip.GzipFile(fileobj=raw, mode="wb") if target.suffix == ".gz" else raw
        with io.TextIOWrapper(binary, encoding="utf-8") as text:
            yield text
        if binary is not raw:
            raw.close()
        # Only a complete export takes the file's name.
        temporary.replace(target)
    except BaseException:
        raw.close()
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def open_for_reading(path: str) -> Iterator[IO[str]]:
    """Open FILE for the import ("-" is standard input; a name ending in .gz is decompressed)."""
    if path == "-":
        yield sys.stdin
        return
    if not Path(path).is_file():
        raise BackupError(f"{path}: no such file.")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield handle
