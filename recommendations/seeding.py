"""Loading the seeded documents from `fixtures/` into the tracker, idempotently.

Everything is matched by natural key (slugs, item codes), never by primary
key, so loading twice changes nothing and a changed fixture updates rows in
place. Seeded statuses go through the status-change service like any other,
and never override a status that an analyst has recorded.
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
from django.db import transaction
from django.utils import timezone

from recommendations.models import (
    Evidence,
    Owner,
    Recommendation,
    RecommendationLink,
    Source,
    StatusChange,
    Theme,
)
from recommendations.services import recommendation_change_status
from recommendations.vocabulary import Status

_WHITESPACE = re.compile(r"\s+")


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

    def add(self, kind: str, outcome: str) -> None:
        self.counts[(kind, outcome)] += 1

    def lines(self) -> list[str]:
        kinds = dict.fromkeys(kind for kind, _ in self.counts)
        lines = []
        for kind in kinds:
            parts = [
                f"{self.counts[(kind, o)]} {o}" for o in ("created", "updated", "unchanged") if self.counts[(kind, o)]
            ]
            lines.append(f"{kind}: {', '.join(parts)}")
        return lines

    @property
    def changed(self) -> bool:
        return any(outcome != "unchanged" for _, outcome in self.counts)


def _load_yaml(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or []
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


def _upsert(model: type, lookup: dict[str, Any], values: dict[str, Any]) -> tuple[Any, str]:
    """Create the row, or update only the fields that differ; return (obj, "created"|"updated"|"unchanged")."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean()
        obj.save()
        return obj, "created"
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        return obj, "unchanged"
    for name in changed:
        setattr(obj, name, values[name])
    obj.full_clean()
    obj.save(update_fields=changed)
    return obj, "updated"


class Seeder:
    """Loads the fixture files of one folder; `run()` does it all in one transaction."""

    def __init__(self, fixtures_dir: Path | None = None, progress: Callable[[str], None] | None = None) -> None:
        self.dir = Path(fixtures_dir or settings.FIXTURES_DIR)
        self.progress = progress or (lambda message: None)
        self.report = SeedReport()

    @transaction.atomic
    def run(self) -> SeedReport:
        self.progress("Loading sources…")
        sources = self.load_sources()
        self.progress("Loading themes and owners…")
        themes = self.load_themes()
        owners = self.load_owners()
        self.progress("Loading recommendations…")
        items = self.load_recommendations(sources, themes, owners)
        self.progress("Loading links between documents…")
        self.load_links(items)
        self.progress("Recording the statuses of June 2018…")
        self.load_statuses(items, sources)
        return self.report

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
            sources[entry["slug"]] = self._record("sources", _upsert(Source, {"slug": entry["slug"]}, values))
        return sources

    def load_themes(self) -> dict[str, Theme]:
        themes = {}
        for position, entry in enumerate(_load_yaml(self.dir / "themes.yaml"), start=1):
            values = {"name": entry["name"], "description": entry.get("description", ""), "position": position}
            themes[entry["slug"]] = self._record("themes", _upsert(Theme, {"slug": entry["slug"]}, values))
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
            }
            owners[entry["slug"]] = self._record("owners", _upsert(Owner, {"slug": entry["slug"]}, values))
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
                "position": positions[source.slug],
                "section": entry["section"],
                "title": entry["title"],
                "text": text,
                "editorial_note": entry.get("editorial_note") or "",
                "level": entry["level"],
                "due_date": _as_date(entry.get("due_date"), where),
                "due_date_note": entry.get("due_date_note") or "",
            }
            item, outcome = _upsert(Recommendation, {"code": code}, values)
            wanted_themes = [self._lookup(themes, slug, where, "theme") for slug in entry.get("themes", [])]
            wanted_owners = [self._lookup(owners, slug, where, "owner") for slug in entry.get("owners", [])]
            for manager, wanted in ((item.themes, wanted_themes), (item.owners, wanted_owners)):
                if {obj.pk for obj in wanted} != set(manager.values_list("pk", flat=True)):
                    manager.set(wanted)
                    if outcome == "unchanged":
                        outcome = "updated"
            if outcome == "updated":
                # An existing item whose fixture changed gets a new version, so its ETag changes.
                item.version += 1
                item.updated_at = timezone.now()
                item.save(update_fields=["version", "updated_at"])
            self.report.add("recommendations", outcome)
            items[code] = item
        return items

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
        for entry in _load_yaml(self.dir / "links.yaml"):
            where = f"links.yaml, {entry.get('from')} → {entry.get('to')}"
            result = _upsert(
                RecommendationLink,
                {
                    "from_recommendation": self._lookup(items, entry["from"], where, "item"),
                    "to_recommendation": self._lookup(items, entry["to"], where, "item"),
                    "kind": entry["kind"],
                },
                {"note": entry.get("note") or ""},
            )
            self._record("links", result)

    # --- statuses as of June 2018 --------------------------------------------
    def load_statuses(self, items: dict[str, Recommendation], sources: dict[str, Source]) -> None:
        for entry in _load_yaml(self.dir / "statuses.yaml"):
            code = entry["code"]
            where = f"statuses.yaml, {code}"
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

    def _seed_evidence(
        self, item: Recommendation, entry: dict[str, Any] | None, sources: dict[str, Source], where: str
    ) -> Evidence | None:
        if not entry:
            return None
        source = self._lookup(sources, entry["source"], where, "source") if entry.get("source") else None
        quote = normalize_whitespace(entry.get("quote") or "")
        if source and quote and not quote_occurs_in(quote, source.text):
            raise FixtureError(f"{where}: the evidence quote is not found word for word in {source.slug}.")
        return self._record(
            "evidence",
            _upsert(
                Evidence,
                {"recommendation": item, "source": source, "url": entry.get("url") or "", "quote": quote},
                {
                    "title": entry["title"],
                    "publisher": entry.get("publisher") or "",
                    "published": _as_date(entry.get("published"), where),
                },
            ),
        )
