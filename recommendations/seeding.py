"""Loading the seeded documents from `fixtures/` into the tracker, idempotently.

Everything is matched by natural key (slugs, item codes), never by primary
key, so loading twice changes nothing and a changed fixture updates rows in
place. The seed never reverts an analyst: it remembers what it last wrote in
each field (`SeededValues`) and brings a changed fixture value in only while
the field still holds that; a field an analyst changed since is kept, and the
report names it. Items change through `recommendation_update`, so a fixture's
correction is on the item's edit history like any other edit. Seeded statuses
go through the status-change service like any other, and never override a
status that an analyst has recorded. Evidence is append-only: recorded
evidence is reused, never rewritten.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from recommendations.models import (
    MAX_SCHEDULE_MONTHS,
    Evidence,
    Owner,
    Recommendation,
    RecommendationEdit,
    RecommendationLink,
    SeededValues,
    Source,
    StatusChange,
    Theme,
)
from recommendations.services import SEED_FIELDS, LinkSpec, recommendation_change_status, recommendation_update
from recommendations.translation import OTHER_LANGUAGES, column, translated_fields
from recommendations.vocabulary import Status

_WHITESPACE = re.compile(r"\s+")
SEED_EDIT_NOTE = "Brought in from a corrected fixture by the seed."
STATUSES_2018 = "statuses.yaml"
STATUSES_SINCE_2018 = "statuses_since_2018.yaml"
RESEARCH_DIR = "research"
# The tracker's own words in each other language: translations/<language>.yaml, keyed like the English.
TRANSLATIONS_DIR = "translations"


def normalize_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space: the only liberty a quote takes with its source.

    The documents' texts keep the line and page breaks of their transcription;
    a quote that runs across one is stored with a single space.
    """
    return _WHITESPACE.sub(" ", text).strip()


def quote_occurs_in(quote: str, source_text: str) -> bool:
    """Return True when `quote` stands in `source_text` word for word."""
    return normalize_whitespace(quote) in normalize_whitespace(source_text)


class FixtureError(Exception):
    """A fixture file is inconsistent; the message says which entry and what to fix."""


@dataclass
class SeedReport:
    """What a seed run did, by kind of row."""

    counts: Counter = field(default_factory=Counter)
    skipped_statuses: list[str] = field(default_factory=list)
    # "recommendation JN97-A: editorial_note": fields left as analysts made them, though the fixture differs
    kept: list[str] = field(default_factory=list)

    def add(self, kind: str, outcome: str) -> None:
        self.counts[(kind, outcome)] += 1

    def lines(self) -> list[str]:
        kinds = dict.fromkeys(kind for kind, _ in self.counts)
        lines = []
        for kind in kinds:
            parts = [
                f"{self.counts[(kind, o)]} {o}"
                for o in ("created", "updated", "kept", "unchanged")
                if self.counts[(kind, o)]
            ]
            lines.append(f"{kind}: {', '.join(parts)}")
        return lines

    @property
    def changed(self) -> bool:
        return any(outcome in ("created", "updated") for _, outcome in self.counts)


# libyaml's parser where PyYAML was built with it (the wheels are): the same safe loader, ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader


def _load_yaml(path: Path) -> list[dict[str, Any]]:
    data = _read_yaml(path) or []
    if not isinstance(data, list):
        raise FixtureError(f"{path.name}: expected a list of entries.")
    return data


def _joined(value: Any) -> str:
    """Return a list of names as one "; "-separated string (a plain string is kept)."""
    if not value:
        return ""
    return "; ".join(value) if isinstance(value, list) else str(value)


def _as_date(value: Any, where: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as exc:
        raise FixtureError(f"{where}: {value!r} is not a date (YYYY-MM-DD).") from exc


def _as_months(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SCHEDULE_MONTHS:
        raise FixtureError(
            f"{where}: schedule_months {value!r} is not a number of months from 1 to {MAX_SCHEDULE_MONTHS}."
        )
    return value


# A part of a row that is not there (a link the item does not have).
ABSENT = object()
# Values of a field that holds nothing yet (a new field's default).
EMPTY_VALUES = (None, "", [])


def _comparable(value: Any) -> Any:
    """Return a field's value in the form the seed stores and compares: JSON, rows by natural key."""
    if value is ABSENT:
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.natural_key()[0]
    if isinstance(value, list | tuple | set):
        return sorted(_comparable(v) for v in value)
    return value


class Baselines:
    """What the seed last wrote in each field of each seeded row (`SeededValues`), and the merge rule."""

    def __init__(self, report: SeedReport) -> None:
        self.report = report
        self.rows = {(row.model, row.key): row for row in SeededValues.objects.all()}

    def merge(
        self,
        model: str,
        key: str,
        current: dict[str, Any],
        fixture: dict[str, Any],
        *,
        edited: Callable[[str], bool] | None = None,
    ) -> tuple[list[str], list[str]]:
        """Return the fields to bring in from the fixture and the fields kept, and remember what the seed leaves.

        A field takes the fixture's value only while it still holds what the seed
        last put there; a field that differs from both is an analyst's, and is kept.
        A part that is `ABSENT` (a link) and that the seed never made is made. So is
        a field the seed has never written in a row it remembers (a field added to the
        tracker since), while it is still empty and, by `edited(name)`, no edit on
        record has touched it: nobody has made it what it is.
        """
        row = self.rows.get((model, key))
        last = dict(row.values) if row else {}
        remembered = dict(last)
        apply, kept = [], []
        for name, value in fixture.items():
            wanted, now = _comparable(value), _comparable(current[name])
            never_filled = (
                row is not None
                and name not in last
                and now in EMPTY_VALUES
                and not (edited is not None and edited(name))
            )
            if now == wanted:
                remembered[name] = wanted
            elif (name in last and last[name] == now) or (now is ABSENT and name not in last) or never_filled:
                apply.append(name)
                remembered[name] = wanted
            else:
                kept.append(name)
        self.report.kept.extend(f"{model} {key}: {name}" for name in kept)
        if row is None:
            self.rows[(model, key)] = SeededValues.objects.create(model=model, key=key, values=remembered)
        elif remembered != row.values:
            row.values = remembered
            row.seeded_at = timezone.now()
            row.save(update_fields=["values", "seeded_at"])
        return apply, kept


def _outcome(applied: list[str], kept: list[str]) -> str:
    if applied:
        return "updated"
    return "kept" if kept else "unchanged"


class Seeder:
    """Loads the fixture files of one folder; `run()` does it all in one transaction."""

    def __init__(self, fixtures_dir: Path | None = None, progress: Callable[[str], None] | None = None) -> None:
        self.dir = Path(fixtures_dir or settings.FIXTURES_DIR)
        self.progress = progress or (lambda message: None)
        self.report = SeedReport()
        self.baselines: Baselines | None = None
        self.created: set[str] = set()  # codes of the items this run created
        self.translations: dict[str, dict[str, Any]] = {}

    def _upsert(self, model: type, lookup: dict[str, Any], values: dict[str, Any]) -> tuple[Any, str]:
        """Create the row, or bring in the fixture's changed values that no analyst has changed since.

        Fields are validated here (choices, lengths, formats); uniqueness and the tables' constraints are left to the
        database, which enforces them anyway: checking each in Python costs a query per constraint and row.
        """
        obj = model.objects.filter(**lookup).first()
        name, key = model._meta.model_name, str(_comparable(next(iter(lookup.values()))))
        if obj is None:
            obj = model(**lookup, **values)
            obj.full_clean(validate_unique=False, validate_constraints=False)
            obj.save()
            self.baselines.merge(name, key, values, values)
            return obj, "created"
        apply, kept = self.baselines.merge(name, key, {n: getattr(obj, n) for n in values}, values)
        if apply:
            for field_name in apply:
                setattr(obj, field_name, values[field_name])
            obj.full_clean(validate_unique=False, validate_constraints=False)
            obj.save(update_fields=apply)
        return obj, _outcome(apply, kept)

    @transaction.atomic
    def run(self) -> SeedReport:
        self.baselines = Baselines(self.report)
        self.translations = self.load_translations()
        self.progress("Loading sources…")
        sources = self.load_sources()
        self.progress("Loading themes and owners…")
        themes = self.load_themes()
        owners = self.load_owners()
        self.progress("Loading recommendations…")
        items = self.load_recommendations(sources, themes, owners)
        self.progress("Loading links between documents…")
        self.load_links(items)
        self.progress("Recording the statuses of June 2018 and the steps since…")
        self.load_statuses(items, sources)
        return self.report

    # --- the tracker's words in other languages ----------------------------
    def load_translations(self) -> dict[str, dict[str, Any]]:
        """Each other language's translations file, by language (a folder without them seeds English only)."""
        loaded = {}
        for language in OTHER_LANGUAGES:
            path = self.dir / TRANSLATIONS_DIR / f"{language}.yaml"
            if path.exists():
                data = _read_yaml(path) or {}
                if not isinstance(data, dict):
                    raise FixtureError(f"{TRANSLATIONS_DIR}/{path.name}: expected sections (themes, owners, …).")
                loaded[language] = data
        return loaded

    def translated(self, section: str, key: str, names: tuple[str, ...]) -> dict[str, str]:
        """The translation columns of one row (`title_fr`, `title_ja`, …): what the files give, else empty."""
        values = {}
        for language in OTHER_LANGUAGES:
            entry = (self.translations.get(language, {}).get(section) or {}).get(key) or {}
            for name in names:
                values[column(name, language)] = str(entry.get(name) or "").strip()
        return values

    # --- documents, themes, owners ---------------------------------------
    def load_sources(self) -> dict[str, Source]:
        sources = {}
        for entry in _load_yaml(self.dir / "sources.yaml"):
            text = (self.dir / entry["text_file"]).read_text(encoding="utf-8")
            values = {
                "title": entry["title"],
                "short_title": entry["short_title"],
                "authors": entry["authors"],
                "published": _as_date(entry["published"], entry["slug"]),
                "date_label": entry["date_label"],
                "kind": entry["kind"],
                "url": entry.get("url") or "",
                "description": entry.get("description") or "",
                "text": text,
            }
            sources[entry["slug"]] = self._record("sources", self._upsert(Source, {"slug": entry["slug"]}, values))
        return sources

    def load_themes(self) -> dict[str, Theme]:
        themes = {}
        for position, entry in enumerate(_load_yaml(self.dir / "themes.yaml"), start=1):
            values = {"name": entry["name"], "description": entry.get("description", ""), "position": position}
            values |= self.translated("themes", entry["slug"], translated_fields(Theme))
            themes[entry["slug"]] = self._record("themes", self._upsert(Theme, {"slug": entry["slug"]}, values))
        return themes

    def load_owners(self) -> dict[str, Owner]:
        owners = {}
        for entry in _load_yaml(self.dir / "owners.yaml"):
            values = {
                "name": entry["name"],
                "former_names": _joined(entry.get("former_names")),
                "country": entry["country"],
                "kind": entry["kind"],
                "description": entry.get("description") or "",
                **self.translated("owners", entry["slug"], translated_fields(Owner)),
            }
            owners[entry["slug"]] = self._record("owners", self._upsert(Owner, {"slug": entry["slug"]}, values))
        return owners

    # --- recommendations -------------------------------------------------
    def load_recommendations(
        self, sources: dict[str, Source], themes: dict[str, Theme], owners: dict[str, Owner]
    ) -> dict[str, Recommendation]:
        entries = _load_yaml(self.dir / "recommendations.yaml")
        items: dict[str, Recommendation] = {}
        positions: Counter = Counter()
        self._park_moved_positions(entries)
        for entry in entries:
            code = entry["code"]
            where = f"recommendations.yaml, {code}"
            if code in items:
                raise FixtureError(f"{where}: the code is used twice; codes are unique and never reused.")
            source = self._lookup(sources, entry["source"], where, "source")
            parent_code = entry.get("parent")
            if parent_code and parent_code not in items:
                raise FixtureError(f"{where}: parent {parent_code} must come earlier in the file.")
            text = normalize_whitespace(entry["text"])
            if not quote_occurs_in(text, source.text):
                raise FixtureError(f"{where}: the text is not found word for word in {source.slug}.")
            positions[source.slug] += 1
            values = {
                "source": source,
                "parent": items[parent_code] if parent_code else None,
                "section": entry["section"],
                "title": entry["title"],
                "text": text,
                "editorial_note": entry.get("editorial_note") or "",
                "level": entry["level"],
                "due_date": _as_date(entry.get("due_date"), where),
                "due_date_note": entry.get("due_date_note") or "",
                "schedule_months": _as_months(entry.get("schedule_months"), where),
                "schedule_note": entry.get("schedule_note") or "",
                "themes": [self._lookup(themes, slug, where, "theme") for slug in entry.get("themes", [])],
                "owners": [self._lookup(owners, slug, where, "owner") for slug in entry.get("owners", [])],
            }
            # Only the words the fixture gives in English are seeded in the other languages.
            own_words = tuple(name for name in translated_fields(Recommendation) if name in values)
            values |= self.translated("recommendations", code, own_words)
            item, outcome = self._load_item(code, positions[source.slug], values)
            self.report.add("recommendations", outcome)
            items[code] = item
        return items

    def _load_item(self, code: str, position: int, values: dict[str, Any]) -> tuple[Recommendation, str]:
        item = Recommendation.objects.filter(code=code).first()
        if item is None:
            row = {name: value for name, value in values.items() if name not in ("themes", "owners")}
            item = Recommendation(code=code, position=position, **row)
            item.full_clean(validate_unique=False, validate_constraints=False)
            item.save()
            item.themes.set(values["themes"])
            item.owners.set(values["owners"])
            self.baselines.merge("recommendation", code, values, values)
            self.created.add(code)
            return item, "created"
        if item.position != position:
            # Reading order is the fixture's alone: no analyst edits it, and it is not the item's content.
            Recommendation.objects.filter(pk=item.pk).update(position=position)
            item.position = position
        current = {name: getattr(item, name) for name in values if name not in ("themes", "owners")}
        current["themes"], current["owners"] = list(item.themes.all()), list(item.owners.all())
        apply, kept = self.baselines.merge(
            "recommendation",
            code,
            current,
            values,
            edited=lambda name: RecommendationEdit.objects.filter(recommendation=item, changes__has_key=name).exists(),
        )
        if apply:
            recommendation_update(
                recommendation=item,
                data={name: values[name] for name in apply},
                fields=SEED_FIELDS,
                note=SEED_EDIT_NOTE,
            )
        return item, _outcome(apply, kept)

    def _park_moved_positions(self, entries: list[dict[str, Any]]) -> None:
        """Move items whose reading position changes out of the way, so a reordered fixture cannot collide."""
        planned: dict[str, int] = {}
        per_source: Counter = Counter()
        for entry in entries:
            per_source[entry["source"]] += 1
            planned[entry["code"]] = per_source[entry["source"]]
        moved = [
            pk
            for pk, code, position in Recommendation.objects.filter(code__in=planned).values_list(
                "pk", "code", "position"
            )
            if planned[code] != position
        ]
        if not moved:
            return
        top = Recommendation.objects.order_by("-position").values_list("position", flat=True).first() or 0
        for offset, pk in enumerate(moved, start=1):
            Recommendation.objects.filter(pk=pk).update(position=top + offset)

    def _record(self, kind: str, result: tuple[Any, str]) -> Any:
        obj, outcome = result
        self.report.add(kind, outcome)
        return obj

    @staticmethod
    def _lookup(table: dict[str, Any], key: str, where: str, what: str) -> Any:
        try:
            return table[key]
        except KeyError:
            raise FixtureError(f"{where}: unknown {what} {key!r}; known: {', '.join(sorted(table))}.") from None

    # --- links -------------------------------------------------------------
    def load_links(self, items: dict[str, Recommendation]) -> None:
        """Bring in the fixture's links item by item, each link under the same rule as a field.

        The seed remembers each link it made, by kind and target, with its note: a
        link an analyst removed stays removed, a note an analyst rewrote stays theirs.
        """
        wanted: dict[str, dict[str, LinkSpec]] = {}
        for entry in _load_yaml(self.dir / "links.yaml"):
            where = f"links.yaml, {entry.get('from')} → {entry.get('to')}"
            source = self._lookup(items, entry["from"], where, "item")
            spec = LinkSpec(
                kind=entry["kind"], to=self._lookup(items, entry["to"], where, "item"), note=entry.get("note") or ""
            )
            wanted.setdefault(source.code, {})[f"{spec.kind} {spec.to.code}"] = spec
        for code, specs in wanted.items():
            item = items[code]
            current = {
                f"{row.kind} {row.to_recommendation.code}": LinkSpec(
                    kind=row.kind, to=row.to_recommendation, note=row.note
                )
                for row in item.links_out.select_related("to_recommendation")
            }
            present = {key: current[key].note if key in current else ABSENT for key in specs}
            apply, kept = self.baselines.merge("links", code, present, {key: s.note for key, s in specs.items()})
            if apply and code in self.created:
                # A new item's links are part of its creation, like its other fields: not an edit.
                for key in apply:
                    spec = specs[key]
                    link = RecommendationLink(from_recommendation=item, to_recommendation=spec.to, kind=spec.kind)
                    link.note = spec.note
                    link.full_clean()
                    link.save()
            elif apply:
                result = {**current, **{key: specs[key] for key in apply}}
                recommendation_update(
                    recommendation=item, data={"links": set(result.values())}, fields=SEED_FIELDS, note=SEED_EDIT_NOTE
                )
            for key in specs:
                if key in apply:
                    self.report.add("links", "updated" if key in current else "created")
                else:
                    self.report.add("links", "kept" if key in kept else "unchanged")

    # --- statuses as of June 2018, then each later step on the public record ---------------
    def load_statuses(self, items: dict[str, Recommendation], sources: dict[str, Source]) -> None:
        later = self.dir / STATUSES_SINCE_2018
        entries = [(STATUSES_2018, e) for e in _load_yaml(self.dir / STATUSES_2018)]
        entries += [(STATUSES_SINCE_2018, e) for e in (_load_yaml(later) if later.exists() else [])]
        for name, entry in entries:
            code = entry["code"]
            where = f"{name}, {code}"
            if name == STATUSES_SINCE_2018:
                self._check_research(entry, where)
            item = self._lookup(items, code, where, "item")
            status = entry["status"]
            if status not in Status.values:
                raise FixtureError(f"{where}: unknown status {status!r}; use one of {', '.join(Status.values)}.")
            effective_date = _as_date(entry["effective_date"], where)
            note = normalize_whitespace(entry["note"])
            evidence = self._seed_evidence(item, entry.get("evidence"), sources, where)

            already = StatusChange.objects.filter(
                recommendation=item, to_status=status, effective_date=effective_date, recorded_by__isnull=True
            ).exists()
            if already:
                self.report.add("statuses", "unchanged")
                continue
            if item.status_changes.filter(recorded_by__isnull=False).exists():
                # An analyst has taken this item over; the seed never overrides them.
                self.report.add("statuses", "unchanged")
                self.report.skipped_statuses.append(code)
                continue
            recommendation_change_status(
                recommendation=item, status=status, note=note, effective_date=effective_date, evidence=evidence
            )
            self.report.add("statuses", "created")

    def _check_research(self, entry: dict[str, Any], where: str) -> None:
        """A status after June 2018 stands on an entry of the research log, and on web evidence of its own."""
        research = entry.get("research")
        if not research or not (self.dir / RESEARCH_DIR / f"{research}.md").exists():
            raise FixtureError(f"{where}: name its entry of {RESEARCH_DIR}/ in `research` (e.g. research: bm18-1).")
        evidence = entry.get("evidence") or {}
        if not evidence.get("url") or evidence.get("quote"):
            raise FixtureError(
                f"{where}: give the evidence's web address, title, publisher and date, and no quote: "
                "the note says in the tracker's own words what the source shows."
            )

    def _seed_evidence(
        self, item: Recommendation, entry: dict[str, Any] | None, sources: dict[str, Source], where: str
    ) -> Evidence | None:
        if not entry:
            return None
        source = self._lookup(sources, entry["source"], where, "source") if entry.get("source") else None
        quote = normalize_whitespace(entry.get("quote") or "")
        if source and quote and not quote_occurs_in(quote, source.text):
            raise FixtureError(f"{where}: the evidence quote is not found word for word in {source.slug}.")
        lookup = {"recommendation": item, "source": source, "url": entry.get("url") or "", "quote": quote}
        values = {
            "title": entry["title"],
            "publisher": entry.get("publisher") or "",
            "published": _as_date(entry.get("published"), where),
        }
        evidence = Evidence.objects.filter(**lookup).first()
        if evidence is None:
            evidence = Evidence(**lookup, **values)
            evidence.full_clean()
            evidence.save()
            self.report.add("evidence", "created")
        elif any(getattr(evidence, name) != value for name, value in values.items()):
            # Recorded evidence is append-only; a correction is an analyst's retraction and new evidence.
            self.report.add("evidence", "kept")
            self.report.kept.append(f"evidence {item.code}: {evidence.title} (recorded evidence is never rewritten)")
        else:
            self.report.add("evidence", "unchanged")
        return evidence
