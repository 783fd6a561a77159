"""`python manage.py generate_corpus [N]`: a realistically shaped synthetic corpus for benchmarks.

Shaped like a tracker the size of the UN's human-rights index, where every item
has a history (defaults for N = 300,000):
- items over two synthetic sources (`synthetic-a`, `synthetic-b`), about 10 % of
  them parts of an earlier item; titles of 8–12 words and texts of 45–75 words
  drawn from a fixed vocabulary of the source documents' words with Zipf-like
  frequencies, so that `SEARCH_WORD` occurs in about 10 % of items;
- 1–3 themes and 1–2 owners per item, 3 evidence rows per item;
- 10 status changes per item, dated across 2019–2026, ending in statuses spread
  like a real tracker's (30 % in progress, 20 % implemented, 10 % each of the
  other five), written through the status service's bulk path, which keeps every
  derived structure (current status, versions, status periods) in step.

Deterministic for a given `--seed`. Rows go in with COPY on PostgreSQL (batched
INSERTs elsewhere). Use a throwaway database: nothing it adds is ever removed.
"""

from __future__ import annotations

import datetime
import itertools
import random
import re
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from recommendations import bulk
from recommendations.models import Evidence, Owner, Recommendation, Source, Theme
from recommendations.progress import ProgressBar
from recommendations.services import status_changes_load
from recommendations.vocabulary import Level, Status

SOURCES = (("synthetic-a", "SA"), ("synthetic-b", "SB"))
VOCABULARY_SIZE = 400
# The word that occurs in about 10 % of items: the benchmark's search word (see `search_word`).
SEARCH_WORD_RANK = 90
# How the last status of each item is spread (the rest of the history is random).
FINAL_STATUS_WEIGHTS = {
    Status.IN_PROGRESS: 30,
    Status.IMPLEMENTED: 20,
    Status.NOT_ASSESSED: 10,
    Status.NOT_STARTED: 10,
    Status.PARTIALLY_IMPLEMENTED: 10,
    Status.SUPERSEDED: 10,
    Status.NOT_PURSUED: 10,
}
FIRST_DAY, LAST_DAY = datetime.date(2019, 1, 1), datetime.date(2026, 11, 30)
PUBLISHERS = ("Ministry of Foreign Affairs", "Department of National Defence", "News agency", "Joint statement")
# Words too common to search for (PostgreSQL's English configuration drops them).
_STOPWORDS = "the and for that with this from are was were which their have has been will would should could into"
STOPWORDS = frozenset(f"{_STOPWORDS} such these those other than them they its also more most both each".split(" "))


def vocabulary() -> list[str]:
    """Return the corpus's words, most frequent first: the source documents' words of four letters or more."""
    counts: Counter = Counter()
    for text in Source.objects.exclude(slug__in=[slug for slug, _ in SOURCES]).values_list("text", flat=True):
        counts.update(w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in STOPWORDS)
    words = [word for word, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:VOCABULARY_SIZE]
    if len(words) < SEARCH_WORD_RANK + 1:
        raise CommandError("Run `python manage.py seed` first: the corpus draws its words from the documents.")
    return words


def search_word() -> str:
    """Return the word that occurs in about 10 % of the generated items (the benchmark searches for it)."""
    return vocabulary()[SEARCH_WORD_RANK]


class Command(BaseCommand):
    help = "Add a realistically shaped synthetic corpus (items, themes, owners, evidence, status history)."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, nargs="?", default=300_000, help="How many items (default 300000).")
        parser.add_argument("--changes", type=int, default=10, help="Status changes per item (default 10).")
        parser.add_argument("--evidence", type=int, default=3, help="Evidence rows per item (default 3).")
        parser.add_argument("--seed", type=int, default=1997, help="Random seed, for repeatable corpora.")

    def handle(self, *args, count: int, changes: int, evidence: int, seed: int, **options):
        if count < 1 or changes < 0 or evidence < 0:
            raise CommandError("Give a positive number of items and non-negative counts, e.g. 300000.")
        themes = list(Theme.objects.values_list("pk", flat=True))
        owners = list(Owner.objects.values_list("pk", flat=True))
        if not (themes and owners):
            raise CommandError("Run `python manage.py seed` first: the corpus reuses its themes and owners.")
        words = vocabulary()
        started = time.monotonic()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    # Check foreign keys row by row rather than queue millions of checks for the commit,
                    # and give the log's window sorts room in memory.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute("SET LOCAL work_mem = '256MB'")
            Generator(self, random.Random(seed), words, themes, owners).run(count, changes, evidence)  # noqa: S311
        if connection.vendor == "postgresql":
            # Fresh statistics, so that the planner knows the tables' new sizes from the first query on.
            self.stdout.write("VACUUM ANALYZE…")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {count:,} items, {count * changes:,} status changes and {count * evidence:,} evidence rows "
                f"in {time.monotonic() - started:.0f} s. The word in about 10 % of them: “{words[SEARCH_WORD_RANK]}”."
            )
        )


class Generator:
    """Draws the corpus row by row, deterministically, and hands the rows to bulk inserts."""

    def __init__(self, command, rng: random.Random, words: list[str], themes: list[int], owners: list[int]):
        self.command, self.rng, self.words, self.themes, self.owners = command, rng, words, themes, owners
        # Zipf-like: the word of rank r is drawn with weight 1/r.
        self.cumulative = list(itertools.accumulate(1 / rank for rank in range(1, len(words) + 1)))
        self.now = timezone.now()

    def sentence(self, low: int, high: int) -> str:
        picked = self.rng.choices(self.words, cum_weights=self.cumulative, k=self.rng.randint(low, high))
        return " ".join(picked).capitalize() + "."

    def run(self, count: int, changes: int, evidence_per_item: int) -> None:
        sources = self.sources()
        first_item = bulk.next_id(Recommendation._meta.db_table)
        first_evidence = bulk.next_id(Evidence._meta.db_table)
        ids = range(first_item, first_item + count)
        per_source = {
            pk: count // len(sources) + (1 if i < count % len(sources) else 0) for i, pk in enumerate(sources)
        }
        positions = {pk: Recommendation.objects.filter(source_id=pk).count() for pk in sources}
        plan = []  # (item id, source id, position, code)
        item_ids = iter(ids)
        for (_slug, prefix), (source_pk, n) in zip(SOURCES, per_source.items(), strict=True):
            for _ in range(n):
                positions[source_pk] += 1
                plan.append((next(item_ids), source_pk, positions[source_pk], f"{prefix}-{positions[source_pk]:07d}"))

        self.insert_items(plan, evidence_per_item)
        self.insert_links(plan)
        self.insert_evidence(plan, first_evidence, evidence_per_item)
        self.insert_changes(plan, first_evidence, evidence_per_item, changes)
        bulk.reset_sequences([Recommendation, Evidence])

    def sources(self) -> list[int]:
        pks = []
        for index, (slug, prefix) in enumerate(SOURCES, start=1):
            source, _ = Source.objects.get_or_create(
                slug=slug,
                defaults={
                    "title": f"Synthetic benchmark corpus, part {index}",
                    "short_title": f"Synthetic {prefix}",
                    "authors": "Generated",
                    "published": datetime.date(2019, 1, index),
                    "date_label": "2019",
                    "kind": "study",
                    "description": "Generated for benchmarks; not a real document.",
                },
            )
            pks.append(source.pk)
        return pks

    def insert_items(self, plan, evidence_per_item: int) -> None:
        bar = ProgressBar("items", len(plan))
        levels = Level.values
        rng = self.rng
        tops: dict[int, list[int]] = {}

        def rows():
            for n, (pk, source_pk, position, code) in enumerate(plan, start=1):
                earlier = tops.setdefault(source_pk, [])
                parent = rng.choice(earlier[-50:]) if earlier and rng.random() < 0.10 else None
                if parent is None:
                    earlier.append(pk)
                yield (
                    pk,
                    code,
                    source_pk,
                    parent,
                    position,
                    f"Part {position % 40 + 1} › Chapter {position % 7 + 1}",
                    self.sentence(8, 12)[:200],
                    self.sentence(45, 75),
                    "",
                    rng.choice(levels),
                    Status.NOT_ASSESSED.value,
                    None,
                    None,
                    "",
                    "",  # no recurring schedule
                    False,  # not a priority
                    "",
                    1 + evidence_per_item,  # one version for each evidence added below
                    self.now,
                    self.now,
                )
                if n % 10_000 == 0 or n == len(plan):
                    bar.advance(10_000 if n % 10_000 == 0 else n % 10_000)

        columns = (
            "id",
            "code",
            "source_id",
            "parent_id",
            "position",
            "section",
            "title",
            "text",
            "editorial_note",
            "level",
            "status",
            "status_date",
            "due_date",
            "due_date_note",
            "schedule_note",
            "priority",
            "priority_note",
            "version",
            "created_at",
            "updated_at",
        )
        bulk.insert_rows(Recommendation._meta.db_table, columns, rows())

    def insert_links(self, plan) -> None:
        rng = self.rng
        bar = ProgressBar("themes, owners", len(plan))

        def theme_rows():
            for pk, *_ in plan:
                for theme in rng.sample(self.themes, rng.randint(1, 3)):
                    yield (pk, theme)

        def owner_rows():
            for n, (pk, *_) in enumerate(plan, start=1):
                for owner in rng.sample(self.owners, rng.randint(1, 2)):
                    yield (pk, owner)
                if n % 10_000 == 0 or n == len(plan):
                    bar.advance(10_000 if n % 10_000 == 0 else n % 10_000)

        bulk.insert_rows(Recommendation.themes.through._meta.db_table, ("recommendation_id", "theme_id"), theme_rows())
        bulk.insert_rows(Recommendation.owners.through._meta.db_table, ("recommendation_id", "owner_id"), owner_rows())

    def insert_evidence(self, plan, first_id: int, per_item: int) -> None:
        rng = self.rng
        bar = ProgressBar("evidence", len(plan) * per_item)

        def rows():
            evidence_id = first_id
            for n, (pk, _source, _position, code) in enumerate(plan, start=1):
                for k in range(1, per_item + 1):
                    published = FIRST_DAY + datetime.timedelta(days=rng.randint(0, (LAST_DAY - FIRST_DAY).days))
                    yield (
                        evidence_id,
                        pk,
                        f"https://example.org/synthetic/{code}/{k}",
                        None,
                        self.sentence(4, 8)[:300],
                        rng.choice(PUBLISHERS),
                        published,
                        "",
                        self.now,
                        None,
                    )
                    evidence_id += 1
                if n % 10_000 == 0 or n == len(plan):
                    bar.advance((10_000 if n % 10_000 == 0 else n % 10_000) * per_item)

        columns = (
            "id",
            "recommendation_id",
            "url",
            "source_id",
            "title",
            "publisher",
            "published",
            "quote",
            "added_at",
            "added_by_id",
        )
        bulk.insert_rows(Evidence._meta.db_table, columns, rows())

    def insert_changes(self, plan, first_evidence: int, evidence_per_item: int, per_item: int) -> None:
        if per_item == 0:
            return
        rng = self.rng
        bar = ProgressBar("status changes", len(plan) * per_item)
        finals = list(FINAL_STATUS_WEIGHTS)
        final_weights = list(FINAL_STATUS_WEIGHTS.values())
        assessed = [s for s in Status if s != Status.NOT_ASSESSED]
        span = (LAST_DAY - FIRST_DAY).days

        def rows():
            for n, (pk, *_rest) in enumerate(plan, start=1):
                days = sorted(rng.sample(range(span + 1), per_item))
                statuses = []
                previous = Status.NOT_ASSESSED
                for _ in range(per_item - 1):
                    status = rng.choice([s for s in assessed if s != previous])
                    statuses.append(status)
                    previous = status
                final = rng.choices(finals, weights=final_weights)[0]
                statuses.append(final)
                previous = Status.NOT_ASSESSED
                evidence_base = first_evidence + (n - 1) * evidence_per_item
                for k, (day, status) in enumerate(zip(days, statuses, strict=True)):
                    effective = FIRST_DAY + datetime.timedelta(days=day)
                    recorded = datetime.datetime.combine(effective, datetime.time(12), tzinfo=datetime.UTC)
                    cites = evidence_base + k % evidence_per_item if evidence_per_item and k % 3 == 2 else None
                    yield (
                        pk,
                        previous.value,
                        status.value,
                        f"Synthetic change {k + 1} of {per_item}.",
                        effective,
                        recorded + datetime.timedelta(minutes=rng.randint(0, 600)),
                        None,
                        cites,
                    )
                    previous = status
                if n % 10_000 == 0 or n == len(plan):
                    bar.advance((10_000 if n % 10_000 == 0 else n % 10_000) * per_item)

        status_changes_load(rows=rows())
