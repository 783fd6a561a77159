"""The tracker's own words in French and Japanese reach the database through the seed, and stay the analysts'.

The seed fills each translation column from `fixtures/translations/<language>.yaml`; a reseed brings a
corrected translation in, but never reverts one an analyst changed, and a database seeded before the
translations existed gets them on its next seed. A missing translation reads as the English, marked.
"""

import shutil
from io import StringIO

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

from recommendations.models import Owner, Recommendation, SeededValues, Theme
from recommendations.services import EDITABLE_FIELDS, recommendation_update
from recommendations.translation import translated_fields, translation_columns, words

pytestmark = pytest.mark.django_db

FIXTURES = settings.FIXTURES_DIR


def _translations(language, folder=FIXTURES):
    return yaml.safe_load((folder / "translations" / f"{language}.yaml").read_text(encoding="utf-8"))


def test_the_seed_gives_every_theme_owner_and_item_its_french_and_japanese_words(seeded):
    for language in ("fr", "ja"):
        data = _translations(language)
        for theme in Theme.objects.all():
            assert getattr(theme, f"name_{language}") == data["themes"][theme.slug]["name"]
        for owner in Owner.objects.all():
            assert getattr(owner, f"name_{language}") == data["owners"][owner.slug]["name"]
        for item in Recommendation.objects.all():
            entry = data["recommendations"][item.code]
            for name in translated_fields(Recommendation):
                assert getattr(item, f"{name}_{language}") == (entry.get(name) or "").strip(), (item.code, name)
    assert Owner.objects.get(slug="global-affairs-canada").name_fr == "Affaires mondiales Canada"


def test_an_analysts_translation_survives_a_reseed_and_a_corrected_fixture_updates_the_others(
    seeded, analyst, tmp_path
):
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder)
    mine, other = Recommendation.objects.get(code="JN97-A"), Recommendation.objects.get(code="JN97-R3.1")
    recommendation_update(
        recommendation=mine,
        data={"title_fr": "Un titre revu par l'analyste"},
        edited_by=analyst,
        note="Wording.",
    )
    data = _translations("fr", folder)
    data["recommendations"]["JN97-A"]["title"] = "Titre corrigé dans le fichier"
    data["recommendations"]["JN97-R3.1"]["title"] = "Autre titre corrigé"
    (folder / "translations" / "fr.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    out = StringIO()
    call_command("seed", fixtures=str(folder), stdout=out)

    assert Recommendation.objects.get(pk=mine.pk).title_fr == "Un titre revu par l'analyste"
    assert Recommendation.objects.get(pk=other.pk).title_fr == "Autre titre corrigé"
    assert "recommendation JN97-A: title_fr" in out.getvalue()
    # The correction is on the item's edit history like any other edit.
    assert Recommendation.objects.get(pk=other.pk).edits.filter(changes__has_key="title_fr").exists()


def test_a_database_seeded_before_the_translations_gets_them_on_its_next_seed(seeded):
    """As the seed of an earlier release left it: no translation columns filled, none remembered."""
    columns = translation_columns(Recommendation)
    Recommendation.objects.update(**dict.fromkeys(columns, ""))
    Theme.objects.update(**dict.fromkeys(translation_columns(Theme), ""))
    for row in SeededValues.objects.all():
        row.values = {k: v for k, v in row.values.items() if not k.endswith(("_fr", "_ja"))}
        row.save()

    call_command("seed", verbosity=0)

    assert (
        Recommendation.objects.get(code="JN97-A").title_ja == _translations("ja")["recommendations"]["JN97-A"]["title"]
    )
    assert not Theme.objects.filter(name_ja="").exists()


def test_the_translations_are_fields_analysts_may_edit(seeded):
    assert set(translation_columns(Recommendation)) <= EDITABLE_FIELDS
    assert "text" not in translated_fields(Recommendation)  # the quotation stays as published


def test_a_missing_translation_reads_as_the_english_marked_as_such(seeded):
    item = Recommendation.objects.get(code="JN97-A")
    item.title_fr = ""
    with translation.override("fr"):
        shown = words(item, "title")
    assert (shown.text, shown.language, shown.fallback) == (item.title, "en", True)
    with translation.override("ja"):
        shown = words(item, "title")
    assert (shown.text, shown.language, shown.fallback) == (item.title_ja, "ja", False)
    with translation.override("en"):
        assert words(item, "title").fallback is False


def test_an_edit_of_a_translation_is_shown_in_its_own_language(client, seeded, analyst):
    item = Recommendation.objects.get(code="JN97-A")
    recommendation_update(recommendation=item, data={"title_ja": "新しい題名"}, edited_by=analyst)
    body = client.get("/fr/recommendations/JN97-A/").content.decode()
    assert '<ins lang="ja">新しい題名</ins>' in body
