"""The analysts' admin in French at /fr/admin/ and in Japanese at /ja/admin/: the list of items, an item's
page, the status-change form and a refusal read in the reader's language; English stays as it was."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation

from recommendations.services import recommendation_change_status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_after(request):
    # A request under /fr/ or /ja/ leaves its language active in this thread; the next test starts in English.
    yield
    translation.activate("en")


def _in(lang: str, name: str, *args) -> str:
    with translation.override(lang):
        return reverse(name, args=args)


@pytest.fixture
def signed_in(client, analyst, recommendation):
    recommendation_change_status(
        recommendation=recommendation,
        status="in_progress",
        note="Talks have begun.",
        effective_date=datetime.date(2024, 6, 1),
    )
    recommendation.refresh_from_db()
    client.force_login(analyst)
    return client


# Words the page must show in each language, and the English they replace.
PAGES = {
    "fr": {
        "changelist": [
            "Outil de suivi des recommandations Canada-Japon",
            "Date d’état",
            "Par actualité",
            "Consigner un changement d’état pour les éléments sélectionnés",
        ],
        "change": [
            "Texte cité",
            "Historique des modifications (ajout seulement)",
            "Consigner un changement d’état",
            "Date d’échéance",
        ],
        "status": ["Nouvel état", "Date d’effet", "AAAA-MM-JJ", "Preuve (facultatif)", "1 juin 2024"],
        "refusal": [
            "Rien n’a été consigné",
            "Votre changement (non consigné)",
            "La date d’effet ne peut pas être antérieure à la date d’état actuelle (2024-06-01)",
        ],
    },
    "ja": {
        "changelist": ["日加提言追跡ツール", "状況日", "更新状況", "選択した項目の状況の変更を記録"],
        "change": ["引用原文", "編集履歴（追記のみ）", "状況の変更を記録", "期限"],
        "status": ["新しい状況", "適用日", "根拠資料（任意）", "2024年6月1日"],
        "refusal": [
            "記録されていない",
            "入力した変更（未記録）",
            "適用日を現在の状況日（2024-06-01）より前にすることはできない",
        ],
    },
}
ENGLISH = {
    "changelist": [
        "Canada–Japan recommendation tracker",
        "Status date",
        "By freshness",
        "Record a status change for the selected items",
    ],
    "change": ["Quoted text", "Edit history (append-only)", "Record a status change", "Due date"],
    "status": ["New status", "Effective date", "YYYY-MM-DD", "Evidence (optional)", "1 June 2024"],
    "refusal": [
        "Nothing was recorded",
        "Your change (not recorded)",
        "The effective date cannot be before the current status date (2024-06-01)",
    ],
}


def _pages(client, lang: str, item) -> dict[str, str]:
    status_url = _in(lang, "admin:recommendations_recommendation_change_status", item.pk)
    refused = client.post(
        status_url,
        {
            "status": "implemented",
            "note": "Back-dated.",
            "effective_date": "2024-01-01",
            "loaded_version": item.version,
        },
    )
    assert refused.status_code == 200
    return {
        "changelist": client.get(_in(lang, "admin:recommendations_recommendation_changelist")).content.decode(),
        "change": client.get(_in(lang, "admin:recommendations_recommendation_change", item.pk)).content.decode(),
        "status": client.get(status_url).content.decode(),
        "refusal": refused.content.decode(),
    }


def _normal(text: str) -> str:
    # French typography: the page may use the typographic apostrophe or the straight one.
    return text.replace("'", "’").replace("&#x27;", "’")


@pytest.mark.parametrize("lang", ["fr", "ja"])
def test_the_admin_reads_in_the_readers_language(signed_in, recommendation, lang):
    pages = _pages(signed_in, lang, recommendation)
    assert _in(lang, "admin:index").startswith(f"/{lang}/admin/")
    for page, words in PAGES[lang].items():
        html = _normal(pages[page])
        for words_here in words:
            assert _normal(words_here) in html, (lang, page, words_here)
        for english in ENGLISH[page]:
            if lang == "ja" and english == "YYYY-MM-DD":
                continue  # Japanese forms write the date format so too
            assert english not in pages[page], (lang, page, english)
    # Quotations stay as published.
    assert "Ministers should meet every year." in pages["status"]


def test_the_english_admin_is_unchanged(signed_in, recommendation):
    pages = _pages(signed_in, "en", recommendation)
    assert reverse("admin:index") == "/admin/"
    for page, words in ENGLISH.items():
        for english in words:
            assert english in pages[page], (page, english)


def test_a_message_after_a_save_reads_in_the_readers_language(signed_in, recommendation):
    url = _in("fr", "admin:recommendations_recommendation_change_status", recommendation.pk)
    done = signed_in.post(
        url,
        {
            "status": "implemented",
            "note": "Signed.",
            "effective_date": "2024-07-01",
            "loaded_version": recommendation.version,
        },
        follow=True,
    )
    assert done.redirect_chain[-1][0].startswith("/fr/admin/")
    assert "T-1\u00a0: " in done.content.decode()
