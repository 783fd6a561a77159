"""Protections of the running tracker: the admin sign-in lockout, password rules, request limits that a
made-up header cannot dodge, and the Content-Security-Policy header, through Django's real test client."""

from __future__ import annotations

import datetime
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommendations.api.permissions import ApiAnonThrottle
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
LIMIT = settings.AXES_FAILURE_LIMIT


def sign_in(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def fail_until_locked(client: Client, username: str, address: str = "203.0.113.7"):
    """Send wrong passwords up to the limit; return the last answer (the lockout)."""
    for attempt in range(1, LIMIT):
        response = sign_in(client, username, f"wrong-{attempt}", address)
        assert response.status_code == 200, f"attempt {attempt} should show the form again"
        assert "Please enter the correct username and password" in response.text
    return sign_in(client, username, "wrong-last", address)


# --- sign-in lockout ------------------------------------------------------------


def test_the_failure_limit_and_the_cool_off_are_sensible_by_default():
    cool_off = settings.AXES_COOLOFF_TIME
    assert 3 <= LIMIT <= 10
    assert cool_off == datetime.timedelta(minutes=15)


def test_repeated_failures_lock_the_account_and_say_when_to_try_again(analyst):
    client = Client()
    locked = fail_until_locked(client, "ana")

    assert locked.status_code == 429
    assert "Sign-in locked" in locked.text
    assert "Too many failed sign-ins for “ana”" in locked.text
    assert "Try again in 15 minutes, after" in locked.text
    assert int(locked["Retry-After"]) == 15 * 60
    retry_at = datetime.datetime.fromisoformat(re.search(r'<time datetime="([^"]+)"', locked.text).group(1))
    expected = timezone.now() + datetime.timedelta(minutes=15)
    assert abs((retry_at - expected).total_seconds()) < 60

    # The right password is refused while the lock holds.
    refused = sign_in(client, "ana", PASSWORD)
    assert refused.status_code == 429
    assert "Try again in 15 minutes" in refused.text
    assert not signed_in(client)


def test_the_account_is_locked_from_any_address(analyst):
    for attempt in range(LIMIT):
        sign_in(Client(), "ana", f"wrong-{attempt}", address=f"198.51.100.{attempt + 1}")
    client = Client()
    assert sign_in(client, "ana", PASSWORD, address="192.0.2.200").status_code == 429
    assert not signed_in(client)


def test_an_address_that_guesses_many_accounts_is_locked(analyst, other_analyst):
    client = Client()
    for attempt in range(LIMIT):
        sign_in(client, f"guess-{attempt}", "password", address="203.0.113.99")
    assert sign_in(client, "olivia", PASSWORD, address="203.0.113.99").status_code == 429
    assert not signed_in(client)
    # Someone else, elsewhere, signs in as usual.
    other = Client()
    assert sign_in(other, "olivia", PASSWORD, address="192.0.2.10").status_code == 302
    assert signed_in(other)


def test_after_the_cool_off_the_right_password_signs_in(analyst):
    client = Client()
    assert fail_until_locked(client, "ana").status_code == 429
    # Fifteen minutes and a second pass (the attempts' clock is moved back, in the database).
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=15, seconds=1))

    response = sign_in(client, "ana", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert signed_in(client)


def test_a_failure_while_locked_starts_the_wait_again(analyst):
    client = Client()
    fail_until_locked(client, "ana")
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=14))
    assert sign_in(client, "ana", "one-more-guess").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=2))
    assert sign_in(client, "ana", PASSWORD).status_code == 429


def test_a_success_before_the_limit_starts_the_count_again(analyst):
    client = Client()
    for attempt in range(LIMIT - 1):
        sign_in(client, "ana", f"wrong-{attempt}")
    assert sign_in(client, "ana", PASSWORD).status_code == 302
    client.post("/admin/logout/")
    for attempt in range(LIMIT - 1):
        assert sign_in(client, "ana", f"wrong-again-{attempt}").status_code == 200
    assert sign_in(client, "ana", PASSWORD).status_code == 302


def test_the_lockout_is_listed_in_the_admin_and_deleting_it_lets_the_analyst_in(analyst, admin_client):
    fail_until_locked(Client(), "ana", address="203.0.113.7")

    listing = admin_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "ana" in listing.text
    assert "203.0.113.7" in listing.text
    locked_only = admin_client.get("/admin/axes/accessattempt/?locked_out=yes")
    assert "203.0.113.7" in locked_only.text

    attempt = AccessAttempt.objects.get(username="ana")
    assert attempt.failures_since_start == LIMIT
    deleted = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not AccessAttempt.objects.exists()

    client = Client()
    assert sign_in(client, "ana", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_made_up_forwarded_address_does_not_escape_the_address_lock(analyst):
    # No proxy is trusted (PROXY_COUNT=0): X-Forwarded-For is the client's own words, not its address.
    client = Client()
    for attempt in range(LIMIT):
        client.post(
            LOGIN,
            {"username": f"guess-{attempt}", "password": "x"},
            REMOTE_ADDR="203.0.113.50",
            HTTP_X_FORWARDED_FOR=f"10.9.8.{attempt}",
        )
    response = client.post(
        LOGIN, {"username": "ana", "password": PASSWORD}, REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR="10.1.1.1"
    )
    assert response.status_code == 429


# --- other ways in keep working ---------------------------------------------------


def test_the_test_client_login_and_a_token_still_work(analyst, recommendation):
    client = Client()
    assert client.login(username="ana", password=PASSWORD)
    assert signed_in(client)

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")
    response = api.post(
        f"/api/recommendations/{recommendation.code}/status-changes/",
        {"status": "in_progress", "note": "Talks began."},
        format="json",
    )
    assert response.status_code == 201


def test_a_token_keeps_working_while_the_accounts_password_sign_in_is_locked(analyst, recommendation):
    fail_until_locked(Client(), "ana")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=analyst).key}")
    response = api.post(
        f"/api/recommendations/{recommendation.code}/status-changes/",
        {"status": "in_progress", "note": "Talks began."},
        format="json",
    )
    assert response.status_code == 201


# --- password rules ------------------------------------------------------------------


def test_password_validators_are_on():
    names = {v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert {"MinimumLengthValidator", "CommonPasswordValidator", "NumericPasswordValidator"} <= names
    for weak in ("password", "12345678", "short"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password(PASSWORD)


def test_the_admin_refuses_a_weak_new_password(analyst):
    client = Client()
    client.force_login(analyst)
    response = client.post(
        "/admin/password_change/",
        {"old_password": PASSWORD, "new_password1": "password", "new_password2": "password"},
    )
    assert response.status_code == 200
    assert "This password is too common." in response.text
    analyst.refresh_from_db()
    assert analyst.check_password(PASSWORD)


# --- request limits -------------------------------------------------------------------


def test_a_made_up_forwarded_address_does_not_reset_the_request_limit(recommendation, monkeypatch):
    cache.clear()
    monkeypatch.setattr(ApiAnonThrottle, "rate", "3/minute", raising=False)
    api = APIClient()
    codes = [
        api.get("/api/recommendations/", REMOTE_ADDR="203.0.113.8", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    cache.clear()


# --- Content-Security-Policy ------------------------------------------------------------


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("url", ["/", "/admin/login/", "/api/docs/", "/api/recommendations/"])
def test_every_answer_carries_the_content_security_policy(url, seeded):
    response = Client().get(url)
    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_the_signed_in_admin_carries_the_policy(analyst, recommendation):
    client = Client()
    client.force_login(analyst)
    response = client.get(f"/admin/recommendations/recommendation/{recommendation.pk}/change/")
    assert response.status_code == 200
    assert "'unsafe-inline'" not in policy(response)["script-src"]


def test_the_api_docs_inline_script_runs_by_this_answers_nonce():
    response = Client().get("/api/docs/")
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    inline_scripts = re.findall(r"<script(?![^>]*\ssrc=)([^>]*)>", response.text)
    assert inline_scripts, "the docs start Swagger UI with an inline script"
    assert all(f'nonce="{nonce}"' in attrs for attrs in inline_scripts)
    # A new answer, a new nonce.
    again = Client().get("/api/docs/")
    assert f"'nonce-{nonce}'" not in again["Content-Security-Policy"]


def test_the_lockout_page_carries_the_policy(analyst):
    locked = fail_until_locked(Client(), "ana")
    assert "Content-Security-Policy" in locked


def test_ensure_analyst_refuses_a_weak_password_and_creates_nothing(db, monkeypatch):
    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("ANALYST_PASSWORD", "password")
    with pytest.raises(CommandError, match="too weak"):
        call_command("ensure_analyst", username="weak-analyst")
    assert not get_user_model().objects.filter(username="weak-analyst").exists()
