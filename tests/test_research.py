"""The research log behind the statuses after June 2018: linked from the methodology and the items, shown safely."""

import pytest

from recommendations.research import render

pytestmark = pytest.mark.django_db


def test_the_methodology_links_the_research_log_which_lists_every_entry(client, seeded):
    methodology = client.get("/methodology/").content.decode()
    assert 'href="/methodology/research/"' in methodology and "Statuses after June 2018" in methodology
    log = client.get("/methodology/research/")
    assert log.status_code == 200
    html = log.content.decode()
    assert 'href="/methodology/research/bm18-1/"' in html and "Method" in html


def test_an_items_page_links_its_entry_and_the_entry_its_sources(client, seeded):
    item_page = client.get("/recommendations/BM18-1/").content.decode()
    assert 'href="/methodology/research/bm18-1/"' in item_page
    entry = client.get("/methodology/research/bm18-1/").content.decode()
    assert 'href="https://www.mofa.go.jp/na/na1/ca/page3_002867.html"' in entry
    assert 'href="/recommendations/BM18-1/"' in entry


def test_every_item_has_a_research_entry_and_the_index_lists_it(seeded):
    from django.conf import settings

    from recommendations.models import Recommendation

    folder = settings.FIXTURES_DIR / "research"
    index = (folder / "README.md").read_text(encoding="utf-8")
    for code in Recommendation.objects.values_list("code", flat=True):
        assert (folder / f"{code.lower()}.md").exists(), code
        assert f"| [{code}]({code.lower()}.md) |" in index, code


@pytest.mark.parametrize("name", ["no-such-item", "..%2F..%2Fsettings", "README%00"])
def test_an_unknown_entry_is_a_404(client, name):
    assert client.get(f"/methodology/research/{name}/").status_code == 404


def test_the_log_is_escaped_and_only_web_links_become_links():
    html = str(render("# Title\n\n<script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.org/a)"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert '<a href="https://example.org/a" rel="noopener external">ok</a>' in html
