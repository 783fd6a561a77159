"""`python manage.py check_evidence_links`: visit every evidence web address and record what it answers.

Each address is visited once per run, however many evidence records cite it,
from a pool of threads (`--workers`) with a timeout (`--timeout`); what it
answered is recorded for each of those records through
`services.evidence_link_check_record`, in place of the previous run's check. The
evidence itself never changes. Ends with counts by outcome and the dead links.

Addresses never checked come first, then the longest unchecked, so that runs with
`--limit` (or stopped half-way) work through the whole list over time.
"""

from __future__ import annotations

import datetime
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from recommendations.link_checks import MAX_REDIRECTS, USER_AGENT, LinkResult, check_url
from recommendations.models import Evidence, EvidenceLinkCheck
from recommendations.progress import ProgressBar
from recommendations.services import evidence_link_check_record
from recommendations.vocabulary import LinkOutcome

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "*"})


def tracker_site_url() -> str:
    """Return the tracker's public address as the settings name it (empty when they name none)."""
    for origin in settings.CSRF_TRUSTED_ORIGINS:
        if "*" not in origin:
            return origin.rstrip("/")
    for host in settings.ALLOWED_HOSTS:
        if host not in LOCAL_HOSTS and not host.startswith("."):
            return f"https://{host}"
    return ""


def _bounded(pool: ThreadPoolExecutor, work: Callable, items: Iterable, window: int) -> Iterator[tuple]:
    """Yield (item, result) as the pool finishes them, with at most `window` submitted at a time."""
    items = iter(items)
    pending: dict[Future, object] = {pool.submit(work, item): item for item in itertools.islice(items, window)}
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            item = pending.pop(future)
            yield item, future.result()
            for following in itertools.islice(items, 1):
                pending[pool.submit(work, following)] = following


class Command(BaseCommand):
    help = (
        "Visit every evidence web address (not retracted evidence, unless asked) and record what it answers. "
        "A link is dead when it is not found once, or not found, failing on the server, not answering or "
        "unreachable on two checks in a row; a dead link is flagged with the archive's address for a copy."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=8, help="Addresses visited at once (default 8).")
        parser.add_argument(
            "--timeout", type=float, default=10.0, help="Seconds to wait for a connection or an answer (default 10)."
        )
        parser.add_argument(
            "--only-stale-days",
            type=int,
            metavar="N",
            help="Skip addresses checked in the last N days.",
        )
        parser.add_argument("--limit", type=int, help="Check at most this many addresses (the least recent first).")
        parser.add_argument(
            "--include-retracted", action="store_true", help="Check the addresses of retracted evidence too."
        )
        parser.add_argument(
            "--site-url",
            default=None,
            help="The tracker's public address, named in the user agent (default: from CSRF_TRUSTED_ORIGINS "
            "or ALLOWED_HOSTS).",
        )

    def handle(self, *args, workers, timeout, only_stale_days, limit, include_retracted, site_url, **options):
        if workers < 1 or timeout <= 0:
            raise CommandError("Give at least one worker and a positive timeout, e.g. --workers 8 --timeout 10.")
        if (only_stale_days is not None and only_stale_days < 0) or (limit is not None and limit < 1):
            raise CommandError("--only-stale-days takes a number of days (0 or more), --limit a positive number.")
        targets = self.targets(include_retracted=include_retracted, only_stale_days=only_stale_days, limit=limit)
        if not targets:
            self.stdout.write("No evidence web address to check.")
            return
        about = (site_url if site_url is not None else tracker_site_url()).rstrip("/")
        user_agent = USER_AGENT.format(about=about + reverse("recommendations:methodology"))
        records = sum(len(evidence) for evidence in targets.values())
        self.stdout.write(
            f"Checking {len(targets):,} web addresses ({records:,} evidence records) with {workers} workers, "
            f"a {timeout:g} s timeout and at most {MAX_REDIRECTS} redirects."
        )
        started = time.monotonic()
        bar = ProgressBar("links", len(targets)) if options["verbosity"] >= 1 else None
        outcomes: Counter = Counter()
        dead: list[tuple[Evidence, EvidenceLinkCheck]] = []

        def visit(url: str) -> LinkResult:
            return check_url(url, timeout=timeout, user_agent=user_agent)

        # Threads only visit; every write happens here, in the command's own thread and connection.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="link-check") as pool:
            for url, result in _bounded(pool, visit, targets, window=workers * 2):
                checked_at = timezone.now()
                outcomes[result.outcome] += 1
                for evidence in targets[url]:
                    check = evidence_link_check_record(
                        evidence=evidence,
                        outcome=result.outcome,
                        http_status=result.http_status,
                        final_url=result.final_url,
                        detail=result.detail,
                        checked_at=checked_at,
                    )
                    if check.is_dead:
                        dead.append((evidence, check))
                if bar:
                    bar.advance(1)
        self.summary(outcomes, dead, elapsed=time.monotonic() - started)

    def targets(self, *, include_retracted: bool, only_stale_days: int | None, limit: int | None) -> dict:
        """Return {web address: [its evidence records]}, the least recently checked addresses first."""
        evidence = (
            Evidence.objects.exclude(url="")
            .select_related("recommendation")
            .only("id", "url", "published", "recommendation__code")
        )
        if not include_retracted:
            evidence = evidence.filter(retraction__isnull=True)
        if only_stale_days is not None:
            cutoff = timezone.now() - datetime.timedelta(days=only_stale_days)
            evidence = evidence.filter(Q(link_check__isnull=True) | Q(link_check__checked_at__lt=cutoff))
        evidence = evidence.order_by(F("link_check__checked_at").asc(nulls_first=True), "id")
        targets: dict[str, list[Evidence]] = {}
        for record in evidence.iterator(chunk_size=2000):
            if record.url not in targets and limit is not None and len(targets) >= limit:
                continue  # an address already chosen still takes its other records
            targets.setdefault(record.url, []).append(record)
        return targets

    def summary(self, outcomes: Counter, dead: list[tuple[Evidence, EvidenceLinkCheck]], *, elapsed: float) -> None:
        total = sum(outcomes.values())
        self.stdout.write(f"Checked {total:,} web addresses in {elapsed:.1f} s:")
        for outcome in LinkOutcome:
            self.stdout.write(f"  {outcome.label:<64} {outcomes[outcome]:>6,}")
        if not dead:
            self.stdout.write(self.style.SUCCESS("No dead link."))
            return
        self.stdout.write(self.style.WARNING(f"Dead links ({len(dead)}):"))
        for evidence, check in sorted(dead, key=lambda pair: (pair[0].recommendation.code, pair[0].pk)):
            since = timezone.localtime(check.dead_since).date().isoformat()
            self.stdout.write(
                f"  {evidence.recommendation.code}  {evidence.url}  ({check.get_outcome_display().lower()}, "
                f"dead since {since}; archived copy: {check.archived_url})"
            )
