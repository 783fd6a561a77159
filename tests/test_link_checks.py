"""Evidence link health: `check_evidence_links` against a local web server, the dead-link rule, and the flags
that the item page, the admin and the API show.

The server runs in a thread on 127.0.0.1 and answers 200, a redirect, 404, 500, too slowly, and 405 to HEAD;
a refused connection is a free port with nothing listening. Nothing leaves the machine.
"""

from __future__ import annotations

import csv
import datetime
import io
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import serializers
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from recommendations.api.selectors import EVIDENCE_COLUMNS
from recommendations.api.serializers import EvidenceSerializer
from recommendations.models import (
    LINK_DEAD_AFTER_FAILURES,
    Evidence,
    EvidenceLinkCheck,
    evidence_link_status_q,
    link_is_dead,
)
from recommendations.services import (
    evidence_create,
    evidence_link_check_record,
    evidence_retract,
    recommendation_change_status,
)
from recommendations.vocabulary import LinkOutcome, LinkStatus

pytestmark = pytest.mark.django_db

TIMEOUT = 1  # seconds: the command's --timeout in these tests
SLOW = 2.5  # seconds the slow page takes to answer: longer than TIMEOUT


class Handler(BaseHTTPRequestHandler):
    """Answers by path: /ok 200, /moved 301 to /ok, /gone 404, /broken 500, /slow too late, /no-head 405 to HEAD."""

    seen: list[tuple[str, str, str]] = []  # (method, path, user agent), filled by the server's threads

    def answer(self, with_body: bool) -> None:
        type(self).seen.append((self.command, self.path, self.headers.get("User-Agent", "")))
        if self.path == "/slow":
            time.sleep(SLOW)
        status, headers = {
            "/ok": (200, {}),
            "/moved": (301, {"Location": "/ok"}),
            "/gone": (404, {}),
            "/broken": (500, {}),
            "/slow": (200, {}),
            "/no-head": (405 if self.command == "HEAD" else 200, {}),
        }.get(self.path, (404, {}))
        body = b"<p>page</p>"
        try:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            if with_body:
                self.wfile.write(body)
        except OSError:
            pass  # the checker gave up waiting (the slow page)

    def do_HEAD(self):
        self.answer(with_body=False)

    def do_GET(self):
        self.answer(with_body=True)

    def log_message(self, format, *args):  # quiet: the tests read `seen` instead
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up on the slow page


@pytest.fixture(scope="module")
def server():
    """A web server on 127.0.0.1 (a free port), and a free port with nothing listening."""
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    yield {"base": f"http://127.0.0.1:{httpd.server_address[1]}", "closed": f"http://127.0.0.1:{closed_port}/"}
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # A proxy set in the environment must not carry the checks to 127.0.0.1 elsewhere.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    Handler.seen.clear()


@pytest.fixture
def links(server, make_recommendation, theme, owner, analyst):
    """Item T-1 with evidence at each kind of address; T-2 cites the same page that is gone."""
    item = make_recommendation("T-1", themes=[theme], owners=[owner])
    other = make_recommendation("T-2")
    base = server["base"]
    evidence = {
        name: evidence_create(
            recommendation=item,
            url=url,
            title=f"Report {name}",
            publisher="Ministry",
            published=datetime.date(2019, 5, 2) if name == "gone" else None,
            added_by=analyst,
        )
        for name, url in {
            "ok": f"{base}/ok",
            "moved": f"{base}/moved",
            "gone": f"{base}/gone",
            "broken": f"{base}/broken",
            "slow": f"{base}/slow",
            "no-head": f"{base}/no-head",
            "refused": server["closed"],
        }.items()
    }
    evidence["other-gone"] = evidence_create(recommendation=other, url=f"{base}/gone", title="Same page, T-2")
    recommendation_change_status(
        recommendation=item, status="in_progress", note="Talks began.", evidence=evidence["gone"], recorded_by=analyst
    )
    item.refresh_from_db()
    return {"item": item, "other": other, "evidence": evidence, "base": base}


def run_check(*args: str) -> str:
    out = io.StringIO()
    call_command("check_evidence_links", "--timeout", str(TIMEOUT), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def checks(links) -> dict[str, EvidenceLinkCheck]:
    by_id = {c.evidence_id: c for c in EvidenceLinkCheck.objects.all()}
    return {name: by_id.get(e.pk) for name, e in links["evidence"].items()}


def evidence_rows() -> list:
    return serializers.serialize("python", Evidence.objects.order_by("pk"))


def test_each_answer_is_recorded_with_its_outcome(links):
    before = evidence_rows()
    run_check("--workers", "4")
    found = checks(links)
    base = links["base"]

    assert (found["ok"].outcome, found["ok"].http_status, found["ok"].final_url) == ("ok", 200, f"{base}/ok")
    assert (found["moved"].outcome, found["moved"].http_status) == ("redirected", 200)
    assert found["moved"].final_url == f"{base}/ok"
    assert (found["gone"].outcome, found["gone"].http_status) == ("not_found", 404)
    assert (found["broken"].outcome, found["broken"].http_status) == ("server_error", 500)
    assert (found["slow"].outcome, found["slow"].http_status) == ("timeout", None)
    assert (found["refused"].outcome, found["refused"].http_status) == ("refused", None)
    assert found["refused"].detail == "connection refused"
    # HEAD refused with 405: asked again with GET, which answers.
    assert (found["no-head"].outcome, found["no-head"].http_status) == ("ok", 200)
    assert ("GET", "/no-head") in {(method, path) for method, path, _ in Handler.seen}
    # One visit per address: T-2's evidence at the same address shares the visit and its answer.
    assert found["other-gone"].outcome == "not_found"
    assert [path for method, path, _ in Handler.seen if method == "HEAD"].count("/gone") == 1
    # HEAD first, and a user agent that names the tracker and where it explains itself.
    assert ("HEAD", "/ok") in {(method, path) for method, path, _ in Handler.seen}
    assert ("GET", "/ok") not in {(method, path) for method, path, _ in Handler.seen}
    (agent,) = {agent for _, _, agent in Handler.seen}
    assert agent.startswith("CanadaJapanTracker-LinkCheck/1.0 (+") and agent.endswith("/methodology/)")
    # The evidence itself is never written.
    assert evidence_rows() == before


def test_user_agent_names_the_tracker_and_its_methodology_page(links):
    run_check("--site-url", "https://tracker.example.org", "--limit", "1")
    agents = {agent for _, _, agent in Handler.seen}
    assert agents == {"CanadaJapanTracker-LinkCheck/1.0 (+https://tracker.example.org/methodology/)"}


def test_not_found_is_dead_at_once_and_a_server_error_on_the_second_check(links):
    before = evidence_rows()
    run_check()
    first = checks(links)
    assert first["gone"].is_dead and first["gone"].status == LinkStatus.DEAD
    assert first["gone"].archived_url == f"https://web.archive.org/web/20190502/{links['base']}/gone"
    today = timezone.localdate().strftime("%Y%m%d")
    assert first["other-gone"].archived_url == f"https://web.archive.org/web/{today}/{links['base']}/gone"
    for name in ("broken", "slow", "refused"):
        assert not first[name].is_dead and first[name].status == LinkStatus.FAILING
        assert first[name].consecutive_failures == 1 and first[name].archived_url == ""
    assert first["ok"].status == LinkStatus.OK and first["moved"].status == LinkStatus.REDIRECTED

    run_check()
    second = checks(links)
    for name in ("broken", "slow", "refused", "gone"):
        assert second[name].is_dead, name
        assert second[name].consecutive_failures == LINK_DEAD_AFTER_FAILURES
        # Dead since the first of the failed checks; the row was updated in place.
        assert second[name].dead_since == first[name].checked_at
        assert second[name].checked_at > first[name].checked_at
        assert second[name].pk == first[name].pk
    assert second["broken"].archived_url.startswith("https://web.archive.org/web/")
    assert (second["ok"].consecutive_failures, second["ok"].is_dead) == (0, False)
    assert EvidenceLinkCheck.objects.count() == len(links["evidence"])
    assert evidence_rows() == before


def test_a_link_that_answers_again_is_no_longer_dead(links):
    gone = links["evidence"]["gone"]
    evidence_link_check_record(evidence=gone, outcome=LinkOutcome.NOT_FOUND, http_status=404)
    check = evidence_link_check_record(evidence=gone, outcome=LinkOutcome.OK, http_status=200)
    assert (check.is_dead, check.consecutive_failures, check.failing_since, check.archived_url) == (
        False,
        0,
        None,
        "",
    )
    # A 403 (the site turns robots away) is a failure to show, never a dead link.
    for _ in range(3):
        check = evidence_link_check_record(evidence=gone, outcome=LinkOutcome.CLIENT_ERROR, http_status=403)
    assert check.status == LinkStatus.FAILING and not check.is_dead


def test_the_database_and_python_agree_on_the_dead_link_rule(links):
    evidence = list(links["evidence"].values())
    cases = [(outcome, failures) for outcome in LinkOutcome for failures in (0, 1, 2, 3)]
    # One evidence record per case: reuse the fixture's and add more as needed.
    item = links["item"]
    while len(evidence) < len(cases):
        evidence.append(evidence_create(recommendation=item, url=f"https://example.org/{len(evidence)}", title="X"))
    EvidenceLinkCheck.objects.bulk_create(
        EvidenceLinkCheck(evidence=e, outcome=outcome, consecutive_failures=failures)
        for e, (outcome, failures) in zip(evidence, cases, strict=False)
    )
    expected = {
        e.pk: EvidenceLinkCheck(outcome=outcome, consecutive_failures=failures).status
        for e, (outcome, failures) in zip(evidence, cases, strict=False)
    }
    for status in LinkStatus:
        in_database = set(Evidence.objects.filter(evidence_link_status_q(status)).values_list("pk", flat=True))
        assert in_database == {pk for pk, s in expected.items() if s == status}, status
    assert link_is_dead("not_found", 1) and link_is_dead("timeout", 2) and not link_is_dead("server_error", 1)
    assert not link_is_dead("client_error", 5) and not link_is_dead("ok", 0)
    unchecked = evidence_create(recommendation=item, url="https://example.org/new", title="New")
    assert set(Evidence.objects.with_link_status(LinkStatus.UNCHECKED)) == {unchecked}


def test_summary_counts_outcomes_and_lists_dead_links(links):
    out = run_check()
    assert "Checked 7 web addresses" in out
    assert "(8 evidence records)" in out
    lines = dict(line.strip().rsplit(" ", 1) for line in out.splitlines() if line.startswith("  "))
    lines = {label.strip(): count for label, count in lines.items()}
    assert lines["OK"] == "2"  # /ok and /no-head
    assert lines["Redirected"] == "1"
    assert lines["Not found (404 or 410)"] == "1"
    assert lines["Server error (5xx)"] == "1"
    assert lines["No answer in time"] == "1"
    assert "Dead links (2):" in out
    base = links["base"]
    assert f"  T-1  {base}/gone  (not found (404 or 410), dead since" in out
    assert f"  T-2  {base}/gone  (" in out
    assert "archived copy: https://web.archive.org/web/20190502/" in out

    again = run_check()
    assert "Dead links (5):" in again  # the server error, the timeout and the refused connection, twice failed


def test_retracted_evidence_is_skipped_unless_asked(links, analyst):
    broken = links["evidence"]["broken"]
    evidence_retract(evidence=broken, reason="Wrong page.", retracted_by=analyst)
    run_check()
    assert not EvidenceLinkCheck.objects.filter(evidence=broken).exists()
    run_check("--include-retracted", "--limit", "1")
    assert EvidenceLinkCheck.objects.get(evidence=broken).outcome == "server_error"


def test_only_stale_days_and_limit_choose_the_least_recently_checked(links):
    out = run_check("--limit", "2")
    assert "Checked 2 web addresses" in out
    first = set(EvidenceLinkCheck.objects.values_list("evidence_id", flat=True))
    assert first == {links["evidence"]["ok"].pk, links["evidence"]["moved"].pk}
    # The next run takes those never checked first.
    run_check("--limit", "2")
    assert len(set(EvidenceLinkCheck.objects.values_list("evidence_id", flat=True)) - first) >= 2
    # Everything checked just now: nothing is stale.
    run_check()
    assert "No evidence web address to check." in run_check("--only-stale-days", "1")
    EvidenceLinkCheck.objects.filter(evidence=links["evidence"]["ok"]).update(
        checked_at=timezone.now() - datetime.timedelta(days=3)
    )
    assert "Checked 1 web addresses" in run_check("--only-stale-days", "1")


def test_item_page_flags_the_dead_link_beside_the_evidence_and_in_the_timeline(
    client, links, django_assert_max_num_queries
):
    run_check()
    with django_assert_max_num_queries(10):
        page = client.get(links["item"].get_absolute_url()).content.decode()
    base = links["base"]
    archived = f"https://web.archive.org/web/20190502/{base}/gone"
    # Once in the Evidence section and once in the timeline line that cites it, the original kept beside.
    assert page.count('data-testid="dead-link"') == 2
    assert page.count(f'href="{archived}"') == 2
    assert page.count(f'href="{base}/gone"') == 2
    today = timezone.localdate()
    shown = f"{today.day} {today:%b %Y}"  # English SHORT_DATE_FORMAT, "1 Jun 2018"
    assert f'link dead since <time datetime="{today.isoformat()}">{shown}</time>' in page
    # A server error once is not a dead link yet.
    assert f"web.archive.org/web/{timezone.localdate():%Y%m%d}/{base}/broken" not in page


def test_admin_shows_link_status_in_the_list_the_filter_and_the_item(client, links, reviewer):
    run_check()
    client.force_login(reviewer)
    changelist = reverse("admin:recommendations_evidence_changelist")
    page = client.get(changelist).content.decode()
    assert "By link status" in page
    assert page.count("Link dead since") == 2  # T-1's and T-2's evidence at the gone address
    assert "Failing" in page and "Redirected to" in page
    dead = client.get(changelist, {"link_status": "dead"}).content.decode()
    assert "Report gone" in dead and "Same page, T-2" in dead and "Report broken" not in dead
    failing = client.get(changelist, {"link_status": "failing"}).content.decode()
    assert "Report broken" in failing and "Report slow" in failing and "Report gone" not in failing
    item_page = client.get(reverse("admin:recommendations_recommendation_change", args=[links["item"].pk]))
    body = item_page.content.decode()
    assert "Link dead since" in body and "archived copy" in body
    detail = client.get(reverse("admin:recommendations_evidence_change", args=[links["evidence"]["gone"].pk]))
    assert "Link dead since" in detail.content.decode()


def test_reviewers_and_analysts_may_view_link_checks(reviewer, analyst):
    for user in (reviewer, analyst):
        assert user.has_perm("recommendations.view_evidencelinkcheck")
        assert not user.has_perm("recommendations.change_evidencelinkcheck")


def test_api_evidence_rows_carry_the_link_status(links):
    run_check()
    cache.clear()
    api = APIClient()
    detail = api.get(f"/api/recommendations/{links['item'].code}/").json()
    rows = {row["title"]: row for row in detail["evidence"]}
    gone = rows["Report gone"]
    assert gone["link_status"] == "dead"
    assert gone["archived_url"] == f"https://web.archive.org/web/20190502/{links['base']}/gone"
    assert gone["link_checked_at"]
    assert (rows["Report broken"]["link_status"], rows["Report broken"]["archived_url"]) == ("failing", "")
    assert rows["Report ok"]["link_status"] == "ok" and rows["Report moved"]["link_status"] == "redirected"
    assert set(gone) == set(EvidenceSerializer().fields) == set(EVIDENCE_COLUMNS)
    # The evidence endpoint, and its CSV, say the same.
    listed = api.get(f"/api/recommendations/{links['item'].code}/evidence/").json()["results"]
    assert {r["title"]: r["link_status"] for r in listed}["Report gone"] == "dead"
    response = api.get(f"/api/recommendations/{links['item'].code}/evidence/", {"format": "csv"})
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["title"]: r["link_status"] for r in table}["Report gone"] == "dead"
    # New evidence is not checked yet; evidence held in the tracker has no web address to check.
    fresh = evidence_create(recommendation=links["item"], url="https://example.org/new", title="New")
    rows = {r["id"]: r for r in api.get(f"/api/recommendations/{links['item'].code}/").json()["evidence"]}
    assert (rows[fresh.pk]["link_status"], rows[fresh.pk]["link_checked_at"]) == ("unchecked", None)


def test_backup_keeps_the_link_checks(links, tmp_path):
    from tests.test_deploy import empty_the_database

    run_check()
    before = serializers.serialize("python", EvidenceLinkCheck.objects.order_by("pk"))
    path = tmp_path / "tracker.json"
    call_command("export_tracker", str(path), verbosity=0)
    empty_the_database()
    call_command("import_tracker", str(path), verbosity=0)
    assert serializers.serialize("python", EvidenceLinkCheck.objects.order_by("pk")) == before
