"""Shared fixtures: users in each role, small hand-made items, and the real seed."""

from __future__ import annotations

import itertools

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.utils import translation

from recommendations.models import Owner, Recommendation, Source, Theme
from recommendations.roles import ANALYST_GROUP, REVIEWER_GROUP

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fresh_throttles(settings):
    # Request-rate counters live in the cache: each test starts with none. A shared Redis is never
    # flushed (its tests use keys of their own).
    local = "LocMemCache" in settings.CACHES["default"]["BACKEND"]
    if local:
        cache.clear()
    yield
    if local:
        cache.clear()


@pytest.fixture(autouse=True)
def _english_after_each_test():
    # A request under /fr/ or /ja/ leaves its language active in the thread; the next test starts in English.
    yield
    translation.activate(settings.LANGUAGE_CODE)


def _user(django_user_model, username: str, group: str | None, **extra):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD, **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def analyst(django_user_model):
    """A staff user in the analyst group (may record status changes and evidence)."""
    return _user(django_user_model, "ana", ANALYST_GROUP, is_staff=True)


@pytest.fixture
def other_analyst(django_user_model):
    return _user(django_user_model, "olivia", ANALYST_GROUP, is_staff=True)


@pytest.fixture
def reviewer(django_user_model):
    """A staff user in the reviewer group (may view, never change)."""
    return _user(django_user_model, "rev", REVIEWER_GROUP, is_staff=True)


@pytest.fixture
def seeded(db):
    """The real seed, loaded from fixtures/ by the `seed` command."""
    call_command("seed", verbosity=0)


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker):
    """The real seed, loaded once for a module whose tests only read it (each test's own writes are rolled
    back as usual); the database is emptied again after the module's last test."""
    with django_db_blocker.unblock():
        call_command("seed", verbosity=0)
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def source(db):
    return Source.objects.create(
        slug="test-study",
        title="A Test Study",
        short_title="Test 2000",
        authors="A. Author",
        published="2000-01-01",
        date_label="January 2000",
        kind="study",
        text="Ministers should meet every year. Navies should exchange visits. Scholars should talk.",
    )


@pytest.fixture
def theme(db):
    return Theme.objects.create(slug="dialogue", name="Dialogue", position=1)


@pytest.fixture
def other_theme(db):
    return Theme.objects.create(slug="navies", name="Navies", position=2)


@pytest.fixture
def owner(db):
    return Owner.objects.create(slug="gac", name="Global Affairs Canada", country="canada", kind="ministry")


_positions = itertools.count(1)


@pytest.fixture
def make_recommendation(source):
    """Build an item in the test study: make_recommendation("T-1", themes=[theme], status=...)."""

    def make(code: str = "T-1", *, themes=(), owners=(), text: str = "Ministers should meet every year.", **fields):
        fields.setdefault("title", f"Item {code}")
        fields.setdefault("section", "Recommendations")
        fields.setdefault("level", "bilateral")
        fields.setdefault("position", next(_positions))
        item = Recommendation.objects.create(code=code, source=source, text=text, **fields)
        item.themes.set(themes)
        item.owners.set(owners)
        return item

    return make


@pytest.fixture
def recommendation(make_recommendation, theme, owner):
    return make_recommendation("T-1", themes=[theme], owners=[owner])
