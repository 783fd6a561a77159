"""Deployment: the health endpoint, the production settings' guards, and backup and restore.

The backup tests export a tracker with everything users make (accounts, tokens,
items, links, evidence, the status log with its authorship), empty the
database, import, and check that the API serves exactly what it served before,
and that every stored row came back. On PostgreSQL the same runs with the
status log's append-only trigger in place.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core import serializers
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.authtoken.models import Token

from recommendations import backup
from recommendations.models import (
    Evidence,
    Owner,
    Recommendation,
    RecommendationLink,
    Source,
    StatusChange,
    Theme,
)
from recommendations.roles import ANALYST_GROUP
from recommendations.services import evidence_create, recommendation_change_status
from tests.conftest import PASSWORD
from tracker.health import REASON_DATABASE_UNREACHABLE

ROOT = Path(__file__).resolve().parent.parent
LONG_SECRET = "x7-deploy-test-" + "k3Yq9vLm2Pz8" * 5


def run_manage(*args: str, env: dict[str, str], timeout: int = 60) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process with exactly `env` (plus PATH): what an operator's shell would do."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env},  # noqa: S108
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- /healthz ------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_healthz_is_ok_when_the_database_answers(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_plain_http_while_everything_else_is_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz/").status_code == 200
    page = client.get("/")
    assert page.status_code == 301
    assert page["Location"].startswith("https://")


@pytest.mark.django_db
def test_healthz_only_reads(client):
    assert client.post("/healthz").status_code == 405


def test_healthz_answers_503_with_a_reason_when_the_database_is_unreachable():
    # A real unreachable database (nothing listens on port 1), in a process of its own.
    probe = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz'); print(json.dumps({'code': r.status_code, 'body': r.json()}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "tracker.settings",
            "SECRET_KEY": LONG_SECRET,
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL": "0",
            "DATABASE_URL": "postgres://tracker@127.0.0.1:1/tracker?connect_timeout=3",
            "LOG_LEVEL": "CRITICAL",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["code"] == 503
    assert answer["body"] == {
        "status": "unavailable",
        "reason": REASON_DATABASE_UNREACHABLE.format(error="OperationalError"),
    }


# --- production settings ---------------------------------------------------------------
def test_production_settings_refuse_to_start_without_a_secret_key():
    result = run_manage("check", env={"ALLOWED_HOSTS": "tracker.example.org"})

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set." in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr  # says how to make one


def test_production_settings_refuse_to_start_without_allowed_hosts():
    result = run_manage("check", env={"SECRET_KEY": LONG_SECRET})

    assert result.returncode != 0
    assert "ImproperlyConfigured: ALLOWED_HOSTS is not set." in result.stderr


def test_check_deploy_is_silent_with_the_production_environment():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={"SECRET_KEY": LONG_SECRET, "ALLOWED_HOSTS": "t.example.org"},
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


# --- backup and restore ------------------------------------------------------------------
@pytest.fixture
def tracker_in_use(analyst, other_analyst, reviewer, django_user_model, source, theme, other_theme, owner):
    """A tracker as a team leaves it: items, sub-items, links, evidence, a status log by several people, tokens."""
    analyst.first_name, analyst.last_name, analyst.email = "Ana", "Lyst", "ana@example.org"
    analyst.save()
    retired = django_user_model.objects.create_user(username="retired", password=PASSWORD, is_active=False)
    editors = Group.objects.create(name="editors")
    editors.permissions.add(Permission.objects.get(codename="change_theme"))
    retired.groups.add(editors)
    retired.user_permissions.add(Permission.objects.get(codename="view_owner"))
    Token.objects.create(user=analyst)

    second_source = Source.objects.create(
        slug="brief-2018",
        title="A Later Brief",
        short_title="Brief 2018",
        authors="B. Author",
        published=datetime.date(2018, 6, 1),
        date_label="June 2018",
        kind="policy_brief",
        text="Ministers have met every year since 2010.",
    )
    parent = Recommendation.objects.create(
        code="T-1",
        source=source,
        position=1,
        section="Recommendations",
        title="Meet every year",
        text="Ministers should meet every year.",
        level="bilateral",
        steward=analyst,
        due_date=datetime.date(2001, 1, 1),
        due_date_note="within a year",
    )
    parent.themes.set([theme, other_theme])
    parent.owners.set([owner])
    child = Recommendation.objects.create(
        code="T-1.1",
        source=source,
        parent=parent,
        position=2,
        section="Recommendations › Ministers",
        title="Navies visit",
        text="Navies should exchange visits.",
        level="regional",
    )
    child.themes.set([other_theme])
    follow_up = Recommendation.objects.create(
        code="B-1",
        source=second_source,
        position=1,
        section="Next steps",
        title="Keep meeting",
        text="Ministers have met every year since 2010.",
        level="bilateral",
        editorial_note="Read as a follow-up.",
    )
    RecommendationLink.objects.create(
        from_recommendation=follow_up, to_recommendation=parent, kind="follows_up", note="The brief reports on it."
    )

    brief = evidence_create(
        recommendation=parent, title="The 2018 brief", source=second_source, quote="Ministers have met", added_by=None
    )
    recommendation_change_status(
        recommendation=parent,
        status="in_progress",
        note="Seeded from the brief.",
        effective_date=datetime.date(2018, 6, 1),
        evidence=brief,
    )
    web = evidence_create(
        recommendation=parent,
        title="Joint statement",
        url="https://example.org/statement",
        publisher="GAC",
        published=datetime.date(2024, 5, 2),
        added_by=analyst,
    )
    recommendation_change_status(
        recommendation=parent,
        status="implemented",
        note="Annual meetings confirmed.",
        recorded_by=analyst,
        evidence=web,
    )
    recommendation_change_status(
        recommendation=child, status="not_started", note="Nothing yet.", recorded_by=other_analyst
    )
    return {"parent": parent, "child": child}


BACKED_UP_MODELS = (Group, Token, Source, Theme, Owner, Recommendation, RecommendationLink, Evidence, StatusChange)


def stored_rows(django_user_model) -> dict[str, list]:
    """Every stored row of what a backup carries, field by field (relations by natural key where there is one)."""
    rows = {}
    for model in (django_user_model, *BACKED_UP_MODELS):
        queryset = model._default_manager.order_by("pk")
        if model is Group:
            queryset = model._default_manager.order_by("name")
        rows[model.__name__] = serializers.serialize(
            "python", queryset, use_natural_foreign_keys=True, use_natural_primary_keys=model is Group
        )
    return rows


def api_view(client) -> dict:
    """What the API says about every item: the list, each detail with its ETag, its log and evidence, the feed."""
    cache.clear()  # these many reads in a row are not what the API's rate limit is for
    listing = client.get("/api/recommendations/", {"page_size": 500})
    assert listing.status_code == 200
    view = {"list": listing.json(), "feed": client.get("/api/changes/", {"since": "1900-01-01"}).json()}
    for item in listing.json()["results"]:
        base = f"/api/recommendations/{item['code']}/"
        detail = client.get(base)
        view[item["code"]] = {
            "detail": detail.json(),
            "etag": detail.get("ETag"),
            "status_changes": client.get(base + "status-changes/").json(),
            "evidence": client.get(base + "evidence/").json(),
        }
    return view


def empty_the_database():
    """Leave the database as a freshly created one: every table empty (TRUNCATE on PostgreSQL)."""
    if connection.vendor == "postgresql":
        # The test's own transaction has foreign-key checks pending, which TRUNCATE refuses.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.mark.django_db
def test_backup_restored_into_an_empty_database_serves_the_same_data(
    tracker_in_use, client, django_user_model, tmp_path
):
    before_api = api_view(client)
    before_rows = stored_rows(django_user_model)
    path = tmp_path / "tracker.json.gz"

    call_command("export_tracker", str(path), verbosity=0)
    empty_the_database()
    assert not Recommendation.objects.exists()
    assert not StatusChange.objects.exists()
    assert not django_user_model.objects.exists()
    call_command("import_tracker", str(path), verbosity=0)

    assert api_view(client) == before_api
    assert stored_rows(django_user_model) == before_rows
    # The restored accounts work: the analyst signs in and still has the analyst's rights.
    assert client.login(username="ana", password=PASSWORD)
    restored = django_user_model.objects.get(username="ana")
    assert restored.groups.filter(name=ANALYST_GROUP).exists()
    assert restored.has_perm("recommendations.add_statuschange")
    assert set(
        django_user_model.objects.get(username="retired").user_permissions.values_list("codename", flat=True)
    ) == {"view_owner"}


@pytest.mark.django_db
def test_restored_tracker_takes_new_changes_after_the_restored_ids(tracker_in_use, django_user_model, tmp_path):
    path = tmp_path / "tracker.json"
    call_command("export_tracker", str(path), verbosity=0)
    last_change = StatusChange.objects.order_by("pk").last().pk
    empty_the_database()
    call_command("import_tracker", str(path), verbosity=0)

    item = Recommendation.objects.get(code="T-1.1")
    change = recommendation_change_status(
        recommendation=item, status="in_progress", note="After the restore.", recorded_by=None
    )
    evidence = evidence_create(recommendation=item, title="New", url="https://example.org/new")

    assert change.pk > last_change
    assert evidence.pk > max(Evidence.objects.exclude(pk=evidence.pk).values_list("pk", flat=True))
    assert (
        Recommendation.objects.create(
            code="T-9",
            source=item.source,
            position=99,
            section="S",
            title="New",
            text="Scholars should talk.",
            level="global",
        ).pk
        > Recommendation.objects.get(code="B-1").pk
    )


@pytest.mark.django_db
def test_backup_of_the_seeded_tracker_restores_and_the_seed_then_changes_nothing(seeded, client, tmp_path):
    before = api_view(client)
    path = tmp_path / "seed.json"
    call_command("export_tracker", str(path), verbosity=0)
    empty_the_database()
    call_command("import_tracker", str(path), verbosity=0)

    assert api_view(client) == before
    report = backup.database_contents()
    assert report["recommendations"] == len(before["list"]["results"])
    # The restart after a restore runs the seed: it must find everything in place.
    out = StringIO()
    call_command("seed", stdout=out)
    assert "Seed already up to date: nothing changed." in out.getvalue()


@pytest.mark.django_db
def test_import_refuses_a_database_that_already_holds_data(tracker_in_use, tmp_path):
    path = tmp_path / "tracker.json"
    call_command("export_tracker", str(path), verbosity=0)
    changes = StatusChange.objects.count()

    with pytest.raises(CommandError, match="already holds") as refused:
        call_command("import_tracker", str(path), verbosity=0)

    assert "--replace" in str(refused.value)
    assert StatusChange.objects.count() == changes


@pytest.mark.django_db
def test_import_replace_puts_the_backup_in_place_of_what_was_there(tracker_in_use, client, django_user_model, tmp_path):
    before_api = api_view(client)
    before_rows = stored_rows(django_user_model)
    path = tmp_path / "tracker.json"
    call_command("export_tracker", str(path), verbosity=0)
    # Work done after the backup, which the restore replaces.
    recommendation_change_status(recommendation=tracker_in_use["child"], status="in_progress", note="Later.")
    django_user_model.objects.create_user(username="newcomer")

    call_command("import_tracker", str(path), "--replace", verbosity=0)

    assert api_view(client) == before_api
    assert stored_rows(django_user_model) == before_rows


@pytest.mark.django_db
def test_import_dry_run_writes_nothing(tracker_in_use, django_user_model, tmp_path):
    path = tmp_path / "tracker.json"
    call_command("export_tracker", str(path), verbosity=0)
    empty_the_database()

    call_command("import_tracker", str(path), "--dry-run", verbosity=0)

    assert not any(backup.database_contents().values())


@pytest.mark.django_db
def test_export_holds_secrets_so_only_its_owner_may_read_it(tracker_in_use, tmp_path):
    path = tmp_path / "tracker.json"
    call_command("export_tracker", str(path), verbosity=0)

    assert path.stat().st_mode & 0o777 == 0o600
    document = json.loads(path.read_text())
    assert document["format"] == backup.FORMAT
    assert document["counts"]["status_changes"] == 3
    assert [t["user"] for t in document["tokens"]] == ["ana"]
    without_tokens = tmp_path / "no-tokens.json"
    call_command("export_tracker", str(without_tokens), "--no-tokens", verbosity=0)
    assert "tokens" not in json.loads(without_tokens.read_text())


@pytest.mark.django_db
def test_import_explains_a_file_that_is_not_a_backup(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps([{"model": "recommendations.theme"}]))

    with pytest.raises(CommandError, match="is not a tracker backup"):
        call_command("import_tracker", str(path), verbosity=0)
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_tracker", str(tmp_path / "missing.json"), verbosity=0)


def test_backup_carries_every_model_of_the_tracker():
    # A model added to the app must be added to the backup too, or a restore would lose its rows.
    carried = {table.model for table in backup.TABLES} | set(backup.DERIVED_MODELS)
    missing = [m.__name__ for m in apps.get_app_config("recommendations").get_models() if m not in carried]
    assert missing == []
