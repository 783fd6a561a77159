"""`python manage.py generate_corpus N`: add N synthetic items for benchmarks.

The items belong to a separate source, `synthetic-benchmark`, so they can never
be mistaken for the seeded documents; their texts are sentences of the real
documents recombined, so that full-text search has realistic work to do.
Statuses are recorded for a share of them through the status-change service,
like any other status. Use a throwaway database: `--delete` removes nothing.
"""

from __future__ import annotations

import datetime
import random
import re
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from recommendations.models import Owner, Recommendation, Source, Theme
from recommendations.services import recommendation_change_status
from recommendations.vocabulary import Level, Status

SOURCE_SLUG = "synthetic-benchmark"
BATCH = 5000


class Command(BaseCommand):
    help = "Add N synthetic recommendations (and status changes for a share of them) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, help="How many items to add, e.g. 300000.")
        parser.add_argument(
            "--with-status",
            type=float,
            default=0.05,
            help="Share of the new items that get a status change through the service (default 0.05).",
        )
        parser.add_argument("--seed", type=int, default=1997, help="Random seed, for repeatable corpora.")

    def handle(self, *args, count: int, with_status: float, seed: int, **options):
        if count < 1:
            raise CommandError("Give a positive number of items, e.g. 300000.")
        themes = list(Theme.objects.all())
        owners = list(Owner.objects.all())
        sources = list(Source.objects.exclude(slug=SOURCE_SLUG).exclude(text=""))
        if not (themes and owners and sources):
            raise CommandError("Run `python manage.py seed` first: the corpus reuses its themes, owners and texts.")
        rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
        sentences = [
            s.strip()
            for source in sources
            for s in re.split(r"(?<=[.;:])\s+", " ".join(source.text.split()))
            if 40 <= len(s.strip()) <= 400 and "#" not in s and "*" not in s
        ]
        source, _ = Source.objects.get_or_create(
            slug=SOURCE_SLUG,
            defaults={
                "title": "Synthetic benchmark corpus",
                "short_title": "Synthetic",
                "authors": "Generated",
                "published": datetime.date(2020, 1, 1),
                "date_label": "2020",
                "kind": "study",
                "description": "Generated for benchmarks; not a real document.",
            },
        )
        start_position = (
            Recommendation.objects.filter(source=source)
            .order_by("-position")
            .values_list("position", flat=True)
            .first()
            or 0
        )
        prefix = f"SYN{start_position // 1000000}"
        ThemeLink = Recommendation.themes.through
        OwnerLink = Recommendation.owners.through
        levels = Level.values
        now = timezone.now()
        started = time.monotonic()
        created_pks: list[int] = []

        for batch_start in range(0, count, BATCH):
            size = min(BATCH, count - batch_start)
            with transaction.atomic():
                items = []
                for i in range(size):
                    n = start_position + batch_start + i + 1
                    text = " ".join(rng.sample(sentences, rng.randint(1, 3)))
                    items.append(
                        Recommendation(
                            code=f"{prefix}-{n}",
                            source=source,
                            position=n,
                            section=f"Part {n % 40 + 1} › Chapter {n % 7 + 1}",
                            title=text[:90].rsplit(" ", 1)[0],
                            text=text,
                            level=rng.choice(levels),
                            created_at=now,
                            updated_at=now - datetime.timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 5)),
                        )
                    )
                made = Recommendation.objects.bulk_create(items)
                if not made or made[0].pk is None:  # backends that do not return keys
                    made = list(Recommendation.objects.filter(code__in=[item.code for item in items]))
                ThemeLink.objects.bulk_create(
                    ThemeLink(recommendation_id=item.pk, theme_id=theme.pk)
                    for item in made
                    for theme in rng.sample(themes, rng.randint(1, 2))
                )
                OwnerLink.objects.bulk_create(
                    OwnerLink(recommendation_id=item.pk, owner_id=owner.pk)
                    for item in made
                    for owner in rng.sample(owners, rng.randint(1, 3))
                )
                created_pks.extend(item.pk for item in made)
            done = batch_start + size
            rate = done / max(time.monotonic() - started, 1e-6)
            self.stdout.write(f"  items: {done}/{count} ({rate:,.0f}/s)")

        statuses = [s for s in Status.values if s != Status.NOT_ASSESSED]
        sample = rng.sample(created_pks, int(len(created_pks) * with_status))
        for index, pk in enumerate(sample, start=1):
            item = Recommendation.objects.get(pk=pk)
            recommendation_change_status(
                recommendation=item,
                status=rng.choice(statuses),
                note="Synthetic status for benchmarks.",
                effective_date=datetime.date(2018, 6, 1) + datetime.timedelta(days=rng.randint(0, 2000)),
            )
            if index % 2000 == 0 or index == len(sample):
                self.stdout.write(f"  status changes: {index}/{len(sample)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {count} synthetic items ({len(sample)} with a status) in {time.monotonic() - started:.0f} s."
            )
        )
