"""The methodology page and the research log in French and Japanese; English stays as it was.

Needs the compiled catalogues (`python3 dev.py test` compiles them first).
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def _page(client, url: str, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response.content.decode()


def _main(html: str) -> str:
    """The page's own content, without the header and footer that base.html (not this page) carries."""
    return html[html.index('id="main"') : html.index("</main>")]


def _headings(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", html, re.S)]


ENGLISH_HEADINGS = [
    "Methodology",
    "Where the items come from",
    "What each status means",
    "What counts as evidence",
    "Statuses after June 2018",
    "What “as of” means",
    "Due dates, recurring schedules and “overdue”",
    "Links between the documents",
    "Reusing the data",
]


def test_the_french_methodology_reads_in_french(client, source, recommendation):
    html = _page(client, "/fr/methodology/")
    assert _headings(html) == [
        "Méthodologie",
        "Provenance des éléments",
        "Signification de chaque état",
        "Ce qui constitue une preuve",
        "États après juin 2018",
        f"Ce que signifie «{NBSP}en date du{NBSP}»",
        "Échéances, calendriers récurrents et retards",
        "Liens entre les documents",
        "Réutilisation des données",
    ]
    assert "<title>Méthodologie — Outil de suivi des recommandations Canada-Japon</title>" in html
    # Paragraphs, with the glossary's words and French typography.
    assert "Chaque élément suivi est une action distincte que demande un document source" in html
    assert "L'absence de preuve n'est pas la preuve de l'absence" in html
    assert f"Chaque élément commence à l'état «{NBSP}Non évalué{NBSP}»." in html
    assert "<strong>en retard</strong>" in html and "<strong>calendrier récurrent</strong>" in html
    # The source's own words stay in English inside the French sentence.
    assert f"(«{NBSP}within two or three years{NBSP}»)" in html
    # Links survive inside the translated sentences, and point at the French pages.
    assert 'Le <a href="/fr/methodology/research/">journal de recherche</a> comporte' in html
    assert 'voir la <a href="/api/docs/">documentation de l\'API</a>' in html
    assert '<a href="#due">calendrier récurrent</a>' in html
    # The documents' line: the title stays as published, the count is French.
    cite = '<a href="/fr/sources/test-study/"><cite lang="en">A Test Study</cite></a>'
    english = '<span lang="en">A. Author</span>, <span lang="en">January 2000</span>'
    assert f"{cite}, {english}{NBSP}: 1 élément." in html
    assert '<th scope="col">Clos?</th>' in html and "<td>Non</td>" in html
    left_in_english = ["Evidence is something a reader can check", "research log</a>", "<td>No</td>"]
    for english in [*ENGLISH_HEADINGS[1:], *left_in_english]:
        assert english not in _main(html), english


def test_the_japanese_methodology_reads_in_japanese(client, source, recommendation):
    html = _page(client, "/ja/methodology/")
    assert _headings(html) == [
        "評価方法",
        "項目の由来",
        "各状況の意味",
        "根拠資料とするもの",
        "2018年6月以降の状況",
        "「時点」の意味",
        "期限、定期日程及び期限超過",
        "原典間の関連付け",
        "データの再利用",
    ]
    assert "追跡する各項目は、原典が求める個別の行動一つであり、原文どおりに引用する" in html
    assert "全ての項目は「未評価」から始まる。" in html
    assert "「未着手」は、調べた上で記録上の措置が見当たらなかった場合に限り記録する。" in html
    assert "（「within two or three years」）" in html
    assert '<a href="/ja/methodology/research/">調査記録</a>には' in html
    assert "<strong>期限超過</strong>" in html and "<strong>定期日程</strong>" in html
    assert (
        '<a href="/ja/sources/test-study/"><cite lang="en">A Test Study</cite></a>、'
        '<span lang="en">A. Author</span>、<span lang="en">January 2000</span>：1項目。'
    ) in html
    assert '<th scope="col">完了扱い</th>' in html
    left_in_english_or_polite = ["Evidence is something a reader can check", "recurring schedule", "です", "ます。"]
    for english in [*ENGLISH_HEADINGS[1:], *left_in_english_or_polite]:
        assert english not in _main(html), english


@pytest.mark.parametrize("headers", [{}, {"HTTP_ACCEPT_LANGUAGE": "ja"}, {"HTTP_ACCEPT_LANGUAGE": "fr-CA,fr;q=0.9"}])
def test_the_english_methodology_is_unchanged(client, source, recommendation, headers):
    html = _page(client, "/methodology/", **headers)
    assert _headings(html) == ENGLISH_HEADINGS
    assert "<title>Methodology — Canada–Japan recommendation tracker</title>" in html
    assert (
        '<a href="/sources/test-study/"><cite lang="en">A Test Study</cite></a>, '
        '<span lang="en">A. Author</span>, <span lang="en">January 2000</span>: 1 item.</li>'
    ) in html
    assert (
        "<p>Evidence is something a reader can check that shows where an item stands:</p>" in html
        and "An absence of evidence is not evidence of absence: “Not started” is recorded only when someone looked"
        in html
    )
    assert (
        'The <a href="/methodology/research/">research log</a> has an entry for every item researched: what was'
        " looked for, what was found, and why the status is what it is." in html
    )
    assert '(a <a href="#due">recurring schedule</a> is kept even once implemented)' in html
    assert "<dd>shown on the other item as “Followed up by”</dd>" in html
    assert "<p>Levels: bilateral, regional, global: the scale at which the item asks the two countries to act.</p>" in (
        html
    )
    assert "<td>Yes</td>" in html and "<td>No</td>" in html
    assert "Méthodologie" not in html and "方法論" not in html


def test_the_research_log_says_its_entries_are_kept_in_english(client, seeded):
    french = _page(client, "/fr/methodology/research/")
    assert "<h1>Journal de recherche : les états après juin 2018</h1>".replace(" :", f"{NBSP}:") in french
    assert "Les entrées de ce journal sont conservées en anglais" in french
    assert '<article class="research-entry" data-testid="research-entry" lang="en">' in french
    assert 'href="/fr/methodology/research/bm18-1/"' in french
    assert '<a href="/fr/methodology/">Méthodologie</a>' in french
    assert re.search(r"<h2 id=\"entries-title\">Entrées \(\d+\)</h2>", french)

    japanese = _page(client, "/ja/methodology/research/bm18-1/")
    assert "この調査記録は、作成時のまま英語で掲載している。" in japanese
    assert "<title>調査：BM18-1 — 日加提言追跡ツール</title>" in japanese
    assert re.search(r'<h1>調査記録：<a href="/ja/recommendations/BM18-1/"><span class="code">BM18-1</span> ', japanese)
    # The entry itself is the record, as written.
    assert 'href="https://www.mofa.go.jp/na/na1/ca/page3_002867.html"' in japanese

    english = _page(client, "/methodology/research/")
    assert "<h1>Research log: the statuses after June 2018</h1>" in english
    assert 'data-testid="research-language"' not in english
    assert '<article class="research-entry" data-testid="research-entry">' in english
    assert '<h2 id="entries-title">Entries (' in english
