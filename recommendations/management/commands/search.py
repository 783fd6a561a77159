"""`python manage.py search "port visits"`: the items a search finds, best match first, as the list page shows them.

Runs each query through the one FilterSet of the pages and the API. With `--json`,
prints one JSON object mapping each query to its codes in order (for comparing the
answers of two databases); with `--file`, reads the queries one a line from a file.
"""

import json as json_module

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict
from django.utils import translation

from recommendations.filters import RecommendationFilterSet


def codes_for(query: str, language: str = settings.LANGUAGE_CODE) -> list[str]:
    """Return the codes the list finds for the search `query`, in the order it shows them (in `language`:
    a reader of French or Japanese sees an item whose translated title has the words ranked as a title match)."""
    data = QueryDict(mutable=True)
    data["search"] = query
    with translation.override(language):
        filterset = RecommendationFilterSet(data)
        if not filterset.is_valid():
            raise ValueError("; ".join(str(m) for messages in filterset.errors.values() for m in messages))
        return list(filterset.qs.values_list("code", flat=True))


class Command(BaseCommand):
    help = "Print the codes of the items a search finds, best match first (web-search syntax, as on the list page)."

    def add_arguments(self, parser):
        parser.add_argument("queries", nargs="*", help='Searches, e.g. "port visits" "acsa or gsomia".')
        parser.add_argument("--file", help="A file of searches, one a line.")
        parser.add_argument("--json", action="store_true", help="Print {query: [codes]} as one JSON object.")

    def handle(self, *args, queries: list[str], file: str | None, json: bool, **options):
        if file:
            with open(file, encoding="utf-8") as lines:
                queries = [*queries, *(line.rstrip("\n") for line in lines)]
        if not queries:
            raise CommandError('Give at least one search, e.g. python manage.py search "port visits".')
        results = {}
        for query in queries:
            try:
                results[query] = codes_for(query)
            except ValueError as exc:
                raise CommandError(f"search {query!r}: {exc}") from None
        if json:
            self.stdout.write(_dumps(results))
            return
        for query, codes in results.items():
            self.stdout.write(f"{query}: {len(codes)} item{'' if len(codes) == 1 else 's'}")
            for code in codes:
                self.stdout.write(f"  {code}")


def _dumps(results: dict) -> str:
    return json_module.dumps(results, ensure_ascii=False)
