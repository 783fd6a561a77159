"""Search: whole words with English stems, the same answers in the same order on SQLite and PostgreSQL.

The suite runs on one database per run (CI runs it on both), and `EXPECTED` is the
same on both, so the two runs hold each database to the same answers. Besides,
`test_sqlite_and_postgresql_give_the_same_answers` seeds the other database in a
second process and compares the ordered codes of several hundred searches directly.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dj_database_url
import psycopg2
import pytest
import yaml
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg2 import sql

from recommendations import bulk, search_index
from recommendations.management.commands.search import codes_for
from recommendations.models import Recommendation, RecommendationLink
from recommendations.search_syntax import ERROR_TOO_MANY_TERMS, MAX_TERMS, STOP_WORDS, parse, stem, words
from recommendations.services import recommendation_update

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
LIST_URL = "/"
API_URL = "/api/recommendations/"

# Searches of the seeded items and what they find, best match first: the same on both databases.
EXPECTED: dict[str, list[str]] = {
    # The list page's example. The 2018 brief's port visits, then the two 1997 ship-visit items it
    # follows up (the links' notes say they are the same visits); never JN97-R1's "rapport".
    "port visits": ["BM18-3", "JN97-R3.2", "JN97-R3.5"],
    "port": ["BM18-3", "JN97-R3.2", "JN97-R3.5"],
    '"port visits"': ["BM18-3", "JN97-R3.2", "JN97-R3.5"],
    # Whole words: "rapport" is its own word, neither "port" nor "report".
    "rapport": ["JN97-R1"],
    "report": ["JN97-R2.2.2", "JN97-R2.1", "BM18-4.1"],
    # Stems: "visit" finds visits, visiting, visited; a title match comes first.
    "visit": [
        "JN97-R1.1",
        "JN97-R3.2",
        "JN97-R3.5",
        "JN97-R3.10",
        "BM18-3",
        "JN97-R1",
        "JN97-R3.10.2",
        "JN97-R3.7",
        "JN97-R3.10.1",
        "JN97-R1.4",
        "BM18-1",
    ],
    "ship visits": ["JN97-R3.2", "JN97-R3.5", "BM18-3", "JN97-R3.10.1", "BM18-1"],
    # A phrase: its words next to each other, in order.
    '"ship visits"': ["JN97-R3.2", "JN97-R3.5", "JN97-R3.10.1", "BM18-3"],
    "visiting forces": ["JN97-R3.10", "JN97-R3.10.2", "JN97-R3.10.1", "BM18-3", "BM18-1"],
    '"visiting forces"': ["JN97-R3.10", "JN97-R3.10.2", "BM18-1"],
    # `or`, and `-word` / `-"a phrase"` to leave items out.
    "acsa or gsomia": ["BM18-2", "BM18-1", "JN97-SA-REG-1", "JN97-R3.3", "JN97-R3.10", "JN97-R3.10.2"],
    "gsomia -acsa": ["JN97-SA-REG-1"],
    'acsa -"cross-service"': ["BM18-2", "JN97-R3.3", "JN97-R3.10.2"],
    "humanitarian or disaster": ["JN97-SA-BIL-3.5.3", "JN97-SA-BIL-3.1", "JN97-SA-REG-6", "JN97-R3.1", "JN97-R3.10"],
    # Words joined by punctuation are found as the words they are.
    "cross-servicing": ["JN97-R3.10", "JN97-R3.10.1", "BM18-1"],
    "2+2": ["BM18-4.1", "JN97-A", "JN97-R2", "JN97-R2.1"],
    '"2+2 dialogue"': ["BM18-4.1", "JN97-R2"],
    "track 1.5": ["BM18-4.2", "JN97-R5"],
    "P-M talks": ["JN97-R2", "JN97-R3.1", "BM18-4.1"],
    "political/military": ["JN97-R2", "BM18-4.1"],
    "free and open indo-pacific": ["BM18-5"],
    # Stop words are left out, as PostgreSQL leaves them out; inside a phrase any word may hold their place.
    "peace and security": [
        "JN97-A",
        "JN97-SA-BIL",
        "JN97-SA-GLO",
        "JN97-R1.2",
        "JN97-R1.5",
        "JN97-R6.3",
        "JN97-R8.2.1",
        "BM18-4.2",
        "JN97-R7.1",
        "JN97-SA-BIL-1.2",
        "JN97-R5.4",
        "JN97-R7",
        "BM18-4.1",
    ],
    '"cooperation in peace"': ["JN97-A", "JN97-R7"],
    '"cooperation on peace"': ["JN97-A", "JN97-R7"],
    "the": [],
    '"to be or not"': [],
    # An item's code, in any case.
    "jn97-r3.2": ["JN97-R3.2"],
    "BM18-3": ["BM18-3"],
    "military information": ["BM18-2", "JN97-SA-REG-1", "JN97-R3.11"],
    "Kashima Halifax": ["JN97-R3.5", "BM18-3"],
    "UN reform": ["JN97-SA-GLO-1.1", "JN97-SA-GLO-1.2"],
    "staff talks": ["JN97-R3.1", "JN97-R2", "JN97-R3.11"],
    "Japanese training ship": ["JN97-R3.5", "BM18-3"],
}

# Input that means nothing special: each is searched as the words it has (if any), never an error.
HOSTILE = ['"', "*", ":", "AND OR", "-", "--", "()", "'", "^", "+", "\\", "%", "_", '"""']
SAME_AS = {
    '"ship visits': '"ship visits"',  # an unclosed quote runs to the end
    'ship"': "ship",
    "ship*": "ship",  # no prefix search: whole words
    "NEAR(": "near",  # an FTS5 operator on SQLite, a word here
    "NEAR(ship visits)": "near ship visits",
    "title:ship": "title ship",
    "{title}:": "title",
    "{title}: visits": "title visits",
    "NOT ship": "ship",  # "not" is a stop word, not an operator
    "ship AND visits": "ship visits",
    "ship OR OR visits": "ship or visits",
    "or ship or": "ship",
    "'; DROP TABLE recommendations_search; --": "drop table recommendations search",
}


def _codes(response) -> list[str]:
    return re.findall(r'<li class="item" data-code="([^"]+)"', response.content.decode())


def test_seeded_searches_find_these_items_in_this_order(seeded):
    assert {query: codes_for(query) for query in EXPECTED} == EXPECTED


def test_hostile_input_is_words_or_nothing_never_an_error(client, seeded):
    for text in HOSTILE:
        assert codes_for(text) == [], text
        page = client.get(LIST_URL, {"search": text})
        assert page.status_code == 200, text
        assert _codes(page) == []
        assert 'data-testid="search-no-words"' in page.content.decode(), text
        api = client.get(API_URL, {"search": text})
        assert api.status_code == 200 and api.json()["count"] == 0, text
    for text, same in SAME_AS.items():
        assert codes_for(text) == codes_for(same), text
        assert client.get(API_URL, {"search": text}).status_code == 200, text
    assert codes_for("ship") != []  # the index is still there


def test_too_many_terms_is_refused_naming_the_field(client, seeded):
    text = " ".join(f"word{n}" for n in range(MAX_TERMS + 1))
    message = ERROR_TOO_MANY_TERMS.format(limit=MAX_TERMS, count=MAX_TERMS + 1)
    api = client.get(API_URL, {"search": text})
    assert api.status_code == 400
    assert message in json.dumps(api.json())
    page = client.get(LIST_URL, {"search": text})
    assert page.status_code == 400 and message in page.content.decode()
    assert client.get(API_URL, {"search": " ".join(text.split()[:MAX_TERMS])}).status_code == 200


def test_the_list_page_marks_the_searched_words(client, make_recommendation):
    make_recommendation(
        "S-1",
        title="<b>Ship</b> visits & port calls",
        text="Navies should keep up their routine visits. Other ships should <i>visit</i> too.",
    )
    make_recommendation("S-2", title="Ministers", text="Ministers should meet every year.")
    html = client.get(LIST_URL, {"search": "visiting -ministers"}).content.decode()
    # Escaped, never trusted as HTML; each word with the stem of a searched word marked.
    assert "&lt;b&gt;Ship&lt;/b&gt; <mark>visits</mark> &amp; port calls" in html
    assert (
        '<p class="item-excerpt">Navies should keep up their routine <mark>visits</mark>. '
        "Other ships should &lt;i&gt;<mark>visit</mark>&lt;/i&gt; too.</p>"
    ) in html
    assert "<mark>Ministers</mark>" not in html and "S-2" not in html
    # Without a search, nothing is marked and no excerpt is shown.
    plain = client.get(LIST_URL).content.decode()
    assert "<mark>" not in plain and "item-excerpt" not in plain


def test_the_example_in_the_search_box_finds_items(client, seeded):
    html = client.get(LIST_URL).content.decode()
    example = re.search(r'placeholder="e\.g\. ([^"]+)"', html).group(1)
    assert codes_for(example)
    found = client.get(LIST_URL, {"search": example})
    assert _codes(found)[:3] == ["BM18-3", "JN97-R3.2", "JN97-R3.5"]
    assert "<mark>port</mark> <mark>visits</mark>" in found.content.decode()


def test_the_index_follows_every_write(make_recommendation, analyst):
    item = make_recommendation("S-1", title="Frigates", text="Frigates should call at Halifax.")
    other = make_recommendation("S-2", title="Ministers", text="Ministers should meet.")
    assert codes_for("halifax") == ["S-1"]
    recommendation_update(
        recommendation=item, data={"title": "Destroyers"}, edited_by=analyst, expected_version=item.version
    )
    assert codes_for("frigates") == ["S-1"]  # still in the text
    assert codes_for("destroyer") == ["S-1"]
    Recommendation.objects.filter(pk=item.pk).update(text="Destroyers should call at Esquimalt.")
    assert codes_for("halifax") == [] and codes_for("esquimalt") == ["S-1"]
    # A link's note is searched in both items it links, through every change of the link.
    link = RecommendationLink.objects.create(
        from_recommendation=item, to_recommendation=other, kind="related", note="Both concern naval diplomacy."
    )
    assert codes_for("diplomacy") == ["S-1", "S-2"]
    RecommendationLink.objects.filter(pk=link.pk).update(note="Both concern summitry.")
    assert codes_for("diplomacy") == [] and codes_for("summitry") == ["S-1", "S-2"]
    link.delete()
    assert codes_for("summitry") == []
    # A deleted item leaves nothing behind, even for an item given its id (as bulk loads take the next id).
    gone = make_recommendation("S-3", title="Corvettes", text="Corvettes should patrol.")
    Recommendation.objects.filter(pk=gone.pk).delete()
    make_recommendation("S-4", id=gone.pk, title="Exchanges", text="Scholars should talk.")
    assert codes_for("corvettes") == [] and codes_for("scholars") == ["S-4"]


def test_bulk_inserts_are_indexed(make_recommendation):
    """The corpus generator's path (COPY on PostgreSQL, batched INSERTs on SQLite) fills the index too."""
    template = make_recommendation("S-1", title="Template", text="Nothing to see.")
    fields = [f for f in Recommendation._meta.concrete_fields if f.name != "search_document"]
    row = Recommendation.objects.filter(pk=template.pk).values(*(f.attname for f in fields)).get()
    first = bulk.next_id(Recommendation._meta.db_table)

    def generated(n: int) -> tuple:
        text = "Submarines should surface." if n % 2 else "Carriers should sail."
        own = {"id": first + n, "code": f"G-{n}", "position": 1000 + n, "title": f"Generated {n}", "text": text}
        return tuple(own.get(f.attname, row[f.attname]) for f in fields)

    table = Recommendation._meta.db_table
    assert bulk.insert_rows(table, [f.column for f in fields], (generated(n) for n in range(4))) == 4
    bulk.reset_sequences([Recommendation])
    assert codes_for("submarine") == ["G-1", "G-3"]
    assert codes_for("generated carriers") == ["G-0", "G-2"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's index and its triggers")
def test_the_sqlite_index_and_its_triggers_are_in_place():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        triggers = {row[0] for row in cursor.fetchall()}
    missing = set(search_index.SQLITE_TRIGGERS) - triggers
    assert not missing, (
        f"Missing {sorted(missing)}: a migration rebuilt a table and dropped its triggers; "
        "call recommendations.search_index.install(schema_editor) at its end."
    )


# --- The stemmer and the stop words are PostgreSQL's --------------------------------------------


def _fixture_words() -> list[str]:
    found: set[str] = set()
    for path in [*Path(settings.FIXTURES_DIR).rglob("*.yaml"), *Path(settings.FIXTURES_DIR).rglob("*.md")]:
        found.update(words(path.read_text(encoding="utf-8")))
    return sorted(found)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares with PostgreSQL's own dictionary")
def test_stems_and_stop_words_are_postgresqls():
    vocabulary = sorted(set(_fixture_words()) | STOP_WORDS | {"others", "generation", "universities", "organized"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT w, ts_lexize('english_stem', w) FROM unnest(%s) AS w", [vocabulary])
        lexemes = dict(cursor.fetchall())
    # A stop word has no lexeme; a word with a digit goes to PostgreSQL's `simple` dictionary, as written.
    assert {w for w, lexeme in lexemes.items() if lexeme == []} == STOP_WORDS
    assert {w: stem(w) for w in vocabulary if lexemes[w]} == {
        w: (w if any(c.isdigit() for c in w) else lexemes[w][0]) for w in vocabulary if lexemes[w]
    }


# --- The same searches, on both databases, compared ----------------------------------------------

COMPARED = [
    *EXPECTED,
    *HOSTILE,
    *SAME_AS,
    "exercises -bilateral",
    "-ship",
    "-ship or gsomia",
    "ship visits or port",
    "information sharing",
    "intelligence",
    "arms control",
    "security council",
    "non-proliferation",
    "refugees",
    "peacekeeping",
    "defence -ship -visits",
    '"Canadian and Japanese"',
    '"sharing of information"',
    '"follow-on phase"',
]


def _compared_searches() -> list[str]:
    """The searches above, every word of the items' titles, and phrases of two words from them."""
    items = yaml.safe_load((Path(settings.FIXTURES_DIR) / "recommendations.yaml").read_text(encoding="utf-8"))
    title_words = [title.split() for title in (item["title"] for item in items)]
    single = sorted({w for t in title_words for w in t})
    phrases = sorted({f'"{a} {b}"' for t in title_words for a, b in itertools.pairwise(t)})
    return list(dict.fromkeys([*COMPARED, *single, *phrases[::5]]))


def _postgres_server() -> dict[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        config = dj_database_url.parse(url)
        return {
            "host": config["HOST"] or "127.0.0.1",
            "port": str(config["PORT"] or 5432),
            "user": config["USER"] or "postgres",
            "password": config["PASSWORD"] or "",
        }
    return {"host": "127.0.0.1", "port": "5432", "user": os.environ.get("PG_USER", "postgres"), "password": ""}


def _manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "tracker.test_settings"}
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def test_sqlite_and_postgresql_give_the_same_answers(seeded, tmp_path):
    """This run's database against the other one, seeded from the same fixtures in a second process."""
    searches = _compared_searches()
    queries = tmp_path / "searches.txt"
    queries.write_text("\n".join(searches) + "\n", encoding="utf-8")
    server, created = _postgres_server(), None
    if connection.vendor == "postgresql":
        other = f"sqlite:///{tmp_path / 'compare.sqlite3'}"
    else:
        try:
            admin = psycopg2.connect(dbname="postgres", connect_timeout=3, **server)
        except psycopg2.OperationalError:
            pytest.skip(f"No PostgreSQL server answers at {server['host']}:{server['port']} to compare with.")
        admin.autocommit = True
        created = f"search_compare_{os.getpid()}"
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(created)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(created)))
        password = f":{server['password']}" if server["password"] else ""
        other = f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{created}"
    try:
        _manage(other, "migrate", "--no-input", "-v", "0")
        _manage(other, "seed", "-v", "0")
        theirs = json.loads(_manage(other, "search", "--json", "--file", str(queries)))
    finally:
        if created:
            with admin.cursor() as cursor:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(created)))
            admin.close()
    ours = {query: codes_for(query) for query in searches}
    assert sum(1 for codes in ours.values() if codes) > len(searches) // 2  # most searches find something
    differences = {query: {connection.vendor: ours[query], "other": theirs[query]} for query in searches}
    assert {q: d for q, d in differences.items() if d[connection.vendor] != d["other"]} == {}


def test_parsing_follows_the_web_search_syntax():
    parsed = parse('ship visits or -"port calls" halifax or the')
    assert [[t.words for t in g.terms] for g in parsed.groups] == [[("ship",), ("visits",)], [("halifax",)]]
    assert [t.words for t in parsed.groups[1].excluded] == [("port", "calls")]
    assert parsed.stems == frozenset({"ship", "visit", "halifax"})
    assert parse("JN97-R3.2").code == "JN97-R3.2" and parse("ship visits").code is None
    assert parse("the and of").groups == ()


def test_the_api_pages_through_a_search_best_match_first(client, seeded):
    """Page by page, the API gives the search's items in its order, with the exact count on every page;
    the count and the page's ids come from one query, never a second pass over the matches."""
    expected = codes_for("visit")
    assert len(expected) == 11
    found = []
    for page in range(1, 7):
        with CaptureQueriesContext(connection) as queries:
            body = client.get(API_URL, {"search": "visit", "page_size": 2, "page": page}).json()
        assert body["count"] == 11
        found += [row["code"] for row in body["results"]]
        counting = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
        assert len(counting) == 1 and "OVER ()" in counting[0]
    assert found == expected
    assert client.get(API_URL, {"search": "visit", "page_size": 2, "page": 7}).status_code == 404
    # A page no database integer reaches is past the end too, not a server error.
    assert client.get(API_URL, {"search": "visit", "page_size": 445, "page": 46305867486234992}).status_code == 404
    assert client.get("/", {"search": "visit", "page": 46305867486234992}).status_code == 200
    # A code first, then the rest; a search that finds nothing counts nothing.
    assert [row["code"] for row in client.get(API_URL, {"search": "jn97-r3.2"}).json()["results"]] == ["JN97-R3.2"]
    assert client.get(API_URL, {"search": "zeppelins"}).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    # Another filter and the search together: the same order, fewer items.
    level = Recommendation.objects.get(code=expected[0]).level
    narrowed = client.get(API_URL, {"search": "visit", "level": level}).json()
    same_level = set(Recommendation.objects.filter(level=level).values_list("code", flat=True))
    assert [row["code"] for row in narrowed["results"]] == [c for c in expected if c in same_level]
    assert narrowed["count"] == len([c for c in expected if c in same_level])
