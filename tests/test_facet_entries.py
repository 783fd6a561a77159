"""Facet entries: every writer keeps them in step, `verify_tracker` checks them, and the lists read from them
give what the items themselves give."""

import datetime

import pytest
from django.core.management import call_command
from django.db import connection, models
from rest_framework.test import APIClient

from recommendations import facet_index
from recommendations.derived import differences
from recommendations.models import FacetEntry, FacetPair, Owner, Recommendation, Theme
from recommendations.services import recommendation_change_status, recommendation_update

pytestmark = pytest.mark.django_db

LIST = "/api/recommendations/"


@pytest.fixture
def api():
    return APIClient()


def _entries(code: str) -> set[tuple]:
    return set(
        FacetEntry.objects.filter(recommendation__code=code).values_list("kind", "value", "status", "level", "position")
    )


def test_the_seed_fills_one_entry_per_link_and_one_pair_per_theme_and_owner(seeded):
    links = Recommendation.themes.through.objects.count() + Recommendation.owners.through.objects.count()
    assert FacetEntry.objects.count() == links > 0
    pairs = sum(item.themes.count() * item.owners.count() for item in Recommendation.objects.all())
    assert FacetPair.objects.count() == pairs > 0
    assert differences() == {}


def test_every_writer_keeps_the_entries_in_step(seeded, analyst):
    item = Recommendation.objects.get(code="BM18-2")
    recommendation_change_status(recommendation=item, status="in_progress", note="Talks launched.", recorded_by=analyst)
    assert {status for _, _, status, _, _ in _entries("BM18-2")} == {"in_progress"}
    # The admin's form writes the links directly, not through a service.
    new_theme = Theme.objects.exclude(recommendations=item).first()
    item.themes.add(new_theme)
    item.owners.clear()
    recommendation_update(recommendation=item, data={"level": "global"}, edited_by=analyst)
    entries = _entries("BM18-2")
    assert (FacetEntry.THEME, new_theme.pk, "in_progress", "global", item.position) in entries
    assert not any(kind == FacetEntry.OWNER for kind, *_ in entries)
    item.themes.remove(new_theme)
    assert not any(value == new_theme.pk and kind == FacetEntry.THEME for kind, value, *_ in _entries("BM18-2"))
    assert differences() == {}


@pytest.mark.django_db(transaction=True)  # the load ends with VACUUM on PostgreSQL, outside any transaction
def test_a_bulk_load_keeps_them_in_step(seeded):
    call_command("generate_corpus", 60, "--changes", "3", "--evidence", "1", "--seed", "5", verbosity=0)
    links = Recommendation.themes.through.objects.count() + Recommendation.owners.through.objects.count()
    assert Recommendation.objects.count() == 98 + 60
    assert FacetEntry.objects.count() == links
    assert differences() == {}


def test_an_entry_changed_behind_the_triggers_back_is_reported(seeded):
    FacetEntry.objects.filter(recommendation__code="BM18-1").update(status="superseded")
    found = differences()
    assert "facet entries missing or wrong (an item's link to a theme or owner, with its status and place)" in found
    assert "facet entries with no link behind them" in found


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's triggers")
def test_the_sqlite_triggers_are_in_place():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        triggers = {row[0] for row in cursor.fetchall()}
    assert not set(facet_index.sqlite_triggers()) - triggers


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite rebuilds tables for column changes")
@pytest.mark.django_db(transaction=True)
def test_sqlite_can_rebuild_the_items_table_during_migrations(make_recommendation, theme, owner):
    """Django rebuilds a SQLite table for most column changes; the triggers step aside while migrations run."""
    make_recommendation("T-1", themes=[theme], owners=[owner])
    old = Recommendation._meta.get_field("section")
    new = models.CharField(max_length=401)
    new.set_attributes_from_name("section")
    new.model = Recommendation
    facet_index.before_sqlite_migrations("default")
    try:
        with connection.schema_editor() as editor:
            editor.alter_field(Recommendation, old, new)
            editor.alter_field(Recommendation, new, old)
    finally:
        facet_index.after_sqlite_migrations("default")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert not set(facet_index.sqlite_triggers()) - {row[0] for row in cursor.fetchall()}
    Recommendation.objects.filter(code="T-1").update(level="global")
    assert set(FacetEntry.objects.values_list("level", flat=True)) == {"global"}
    assert differences() == {}


# --- lists read from the entries give what the items give --------------------------------------------


@pytest.fixture
def spread(make_recommendation, theme, owner):
    """Thirty items over two themes and two owners, with three statuses, in a known reading order."""
    other_theme = Theme.objects.create(slug="other", name="Other", position=2)
    other_owner = Owner.objects.create(slug="mofa", name="MOFA", country="japan", kind="ministry")
    for i in range(30):
        make_recommendation(
            f"S-{i:02d}",
            themes=[theme] if i % 3 else [theme, other_theme],
            owners=[owner] if i % 2 else [other_owner],
            status=("in_progress", "implemented", "not_started")[i % 3],
            position=100 - i,
        )
    return theme, owner


def _codes(api, query: str) -> tuple[int, list[str]]:
    codes, url, count = [], f"{LIST}?{query}&page_size=7", None
    while url:
        body = api.get(url).json()
        count = body["count"]
        codes += [row["code"] for row in body["results"]]
        url = body["next"]
    return count, codes


def _expected(**filters) -> list[str]:
    items = Recommendation.objects.filter(**filters).order_by("source_id", "position").distinct()
    return list(items.values_list("code", flat=True))


def test_a_themes_items_with_a_status_page_as_the_items_themselves_do(api, spread):
    theme, owner = spread
    count, codes = _codes(api, f"theme={theme.slug}&status=in_progress&status=not_started")
    expected = _expected(themes=theme, status__in=["in_progress", "not_started"])
    assert codes == expected and count == len(expected) == 20
    # An owner with a theme: the entries of one, the links of the other.
    count, codes = _codes(api, f"owner={owner.slug}&theme=other&level=bilateral")
    expected = _expected(owners=owner, themes__slug="other", level="bilateral")
    assert codes == expected and count == len(expected)


def test_the_facets_of_a_theme_count_what_its_items_hold(client, spread):
    theme, owner = spread
    response = client.get(f"/?theme={theme.slug}&status=implemented")
    facets = {facet.name: {o.value: o.count for o in facet.options} for facet in response.context["facets"]}
    assert facets["status"] == {
        s: Recommendation.objects.filter(themes=theme, status=s).count() for s in facets["status"]
    }
    assert (
        facets["owner"][owner.slug]
        == Recommendation.objects.filter(themes=theme, status="implemented", owners=owner).count()
    )
    assert facets["theme"]["other"] == Recommendation.objects.filter(themes__slug="other", status="implemented").count()
    # The themes of one owner's items.
    by_owner = client.get(f"/?owner={owner.slug}&level=bilateral")
    facets = {facet.name: {o.value: o.count for o in facet.options} for facet in by_owner.context["facets"]}
    for slug in (theme.slug, "other"):
        assert facets["theme"][slug] == Recommendation.objects.filter(themes__slug=slug, owners=owner).count() > 0
    implemented = Recommendation.objects.filter(themes=theme, status="implemented")
    assert response.context["paginator"].count == implemented.count()


def test_as_of_still_reads_the_status_then(api, spread, analyst):
    theme, _ = spread
    item = Recommendation.objects.get(code="S-00")
    recommendation_change_status(
        recommendation=item, status="implemented", note="Done.", effective_date=datetime.date(2024, 1, 1)
    )
    _, codes = _codes(api, f"theme={theme.slug}&status=implemented&as_of=2023-12-31")
    assert "S-00" not in codes
    _, codes = _codes(api, f"theme={theme.slug}&status=implemented")
    assert "S-00" in codes


@pytest.mark.parametrize("query", ["", "level=bilateral", "status=implemented", "search=meet", "owner=mofa"])
def test_the_item_column_facets_count_what_the_other_filters_select(client, spread, query):
    """Status, source and level facets that no filter narrows are counted together; each still counts the items
    matching every other filter."""
    response = client.get(f"/?{query}")
    facets = {facet.name: {o.value: o.count for o in facet.options} for facet in response.context["facets"]}
    chosen = dict(pair.split("=") for pair in query.split("&") if pair)
    base = Recommendation.objects.all()
    if "owner" in chosen:
        base = base.filter(owners__slug=chosen["owner"])
    if "search" in chosen:
        base = base.filter(text__icontains=chosen["search"])
    for name, column in (("status", "status"), ("level", "level"), ("source", "source__slug")):
        items = base
        for other in ("status", "level"):
            if other in chosen and other != name:
                items = items.filter(**{other: chosen[other]})
        for value, count in facets[name].items():
            assert count == items.filter(**{column: value}).count(), (name, value)
