"""The seed: the two documents' items, quoted exactly, linked, with their June 2018 statuses; idempotent."""

import datetime
import shutil
from io import StringIO

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from recommendations.models import Evidence, Recommendation, RecommendationLink, Source, StatusChange
from recommendations.seeding import normalize_whitespace, quote_occurs_in
from recommendations.services import recommendation_change_status
from recommendations.vocabulary import Status

pytestmark = pytest.mark.django_db

FIXTURES = settings.FIXTURES_DIR
STUDY, BRIEF = "job-nishihara-1997", "berkshire-miller-2018"


def _fixture(name):
    return yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))


def _snapshot():
    """Everything the seed writes, as comparable values."""
    return {
        "items": list(
            Recommendation.objects.order_by("code").values_list(
                "code", "title", "text", "status", "status_date", "version", "position", "parent__code"
            )
        ),
        "changes": list(StatusChange.objects.order_by("id").values_list("id", "recommendation__code", "to_status")),
        "evidence": list(Evidence.objects.order_by("id").values_list("id", "title", "quote")),
        "links": list(RecommendationLink.objects.order_by("id").values_list("id", "kind")),
    }


def test_counts_per_source(seeded):
    fixture_counts = {STUDY: 0, BRIEF: 0}
    for entry in _fixture("recommendations.yaml"):
        fixture_counts[entry["source"]] += 1
    assert Recommendation.objects.filter(source__slug=STUDY).count() == fixture_counts[STUDY]
    assert Recommendation.objects.filter(source__slug=BRIEF).count() == fixture_counts[BRIEF]
    # The 1997 Program of Action is split into its distinct actions; the 2018 brief has five next steps.
    assert fixture_counts[STUDY] >= 80
    assert Recommendation.objects.filter(source__slug=BRIEF, parent__isnull=True).count() == 5
    assert set(Recommendation.objects.filter(source__slug=STUDY).values_list("code", flat=True)) >= {
        "JN97-A",
        *(f"JN97-R{n}" for n in range(1, 9)),
    }


def test_the_eight_recommendations_are_parents_of_their_actions(seeded):
    for n in range(1, 9):
        parent = Recommendation.objects.get(code=f"JN97-R{n}")
        assert parent.children.exists(), f"JN97-R{n} has no actions"


def test_every_quoted_text_occurs_in_its_source(seeded):
    for item in Recommendation.objects.select_related("source"):
        assert quote_occurs_in(item.text, item.source.text), item.code
        assert "**" not in item.text and not item.text.startswith("- ")
    for evidence in Evidence.objects.exclude(quote="").select_related("source"):
        assert evidence.source is not None
        assert quote_occurs_in(evidence.quote, evidence.source.text), evidence.title


def test_source_texts_are_the_documents_verbatim(seeded):
    shared = {STUDY: "001_3ecd31a154609189.txt", BRIEF: "000_e0a06f391656bf2b.txt"}
    for slug, name in shared.items():
        text = (FIXTURES / "sources" / f"{slug}.txt").read_text(encoding="utf-8")
        assert Source.objects.get(slug=slug).text == text
        seed_copy = settings.BASE_DIR.parent / "shared" / "seeds" / name
        if seed_copy.exists():
            assert seed_copy.read_text(encoding="utf-8") == text


def test_transcription_errors_are_kept_and_explained(seeded):
    item = Recommendation.objects.get(text__contains="LTN arms control register")
    assert "UN" in item.editorial_note


def test_cross_document_links_are_present(seeded):
    def linked(from_code, *to_text):
        targets = RecommendationLink.objects.filter(from_recommendation__code=from_code).values_list(
            "to_recommendation__text", flat=True
        )
        return any(all(word.lower() in text.lower() for word in to_text) for text in targets)

    assert linked("BM18-1", "cross-service logistics")  # ACSA → cross-servicing arrangements
    assert linked("BM18-1", "visiting force")  # ACSA → visiting-forces arrangements
    assert linked("BM18-2", "defence information security agreement")  # GSOMIA
    assert linked("BM18-3", "ship visits")  # port visits → ship visits
    assert linked("BM18-4.1", "P-M")  # the 2+2 → political/military talks
    assert linked("BM18-4.2", "Track 2")  # the track 1.5 symposium → Track 2
    assert RecommendationLink.objects.filter(to_recommendation__source__slug=STUDY).count() >= 6


def test_framework_agreement_status_cites_the_2010_joint_declaration(seeded):
    item = Recommendation.objects.get(code="JN97-A")
    change = item.status_changes.get()
    assert "2010" in change.evidence.quote and "Joint Declaration" in change.evidence.quote


def test_seeded_statuses_carry_a_note_and_evidence_quoting_the_brief(seeded):
    june_2018 = StatusChange.objects.select_related("evidence__source", "recommendation").filter(
        effective_date=datetime.date(2018, 6, 1)
    )
    assert june_2018.count() == len(_fixture("statuses.yaml")) >= 10
    for change in june_2018:
        assert change.recorded_by is None and change.note
        assert change.evidence and change.evidence.source.slug == BRIEF and change.evidence.quote
    acsa = Recommendation.objects.get(code="BM18-1")
    assert "late April" in acsa.status_changes.get(effective_date=datetime.date(2018, 6, 1)).evidence.quote
    assessed = {e["code"] for name in ("statuses.yaml", "statuses_since_2018.yaml") for e in _fixture(name)}
    unlisted = Recommendation.objects.exclude(code__in=assessed)
    assert set(unlisted.values_list("status", flat=True)) == {Status.NOT_ASSESSED}
    for item in Recommendation.objects.filter(code__in=assessed):
        assert item.status == item.status_changes.order_by("effective_date", "id").last().to_status


def test_the_steps_since_2018_are_dated_changes_with_web_evidence_and_a_research_entry(seeded):
    entries = _fixture("statuses_since_2018.yaml")
    later = StatusChange.objects.select_related("evidence", "recommendation").filter(
        effective_date__gt=datetime.date(2018, 6, 1)
    )
    assert later.count() == len(entries) >= 20
    for change in later:
        assert change.recorded_by is None and change.note and change.effective_date <= datetime.date.today()
        evidence = change.evidence
        assert evidence.url.startswith(("http://", "https://")) and evidence.title and evidence.publisher
        assert evidence.published and not evidence.quote  # the note says it in the tracker's own words
    for entry in entries:
        assert (FIXTURES / "research" / f"{entry['research']}.md").exists(), entry["code"]
    # The ACSA: signed in 2018 (in progress on 1 June 2018), in force by the 2019 summit.
    acsa = Recommendation.objects.get(code="BM18-1")
    assert [(c.to_status, c.effective_date) for c in acsa.status_changes.order_by("effective_date", "id")] == [
        (Status.IN_PROGRESS, datetime.date(2018, 6, 1)),
        (Status.IMPLEMENTED, datetime.date(2019, 8, 24)),
    ]
    # Several steps of one agreement, each its own dated change: the timeline tells the story.
    gsomia = Recommendation.objects.get(code="BM18-2")
    assert gsomia.status_changes.filter(effective_date__gt=datetime.date(2018, 6, 1)).count() >= 2


def test_a_later_step_without_its_research_entry_or_with_a_quote_is_refused(seeded, tmp_path):
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder)
    path = folder / "statuses_since_2018.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries[0]["research"] = "no-such-entry"
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CommandError, match="research"):
        call_command("seed", fixtures=str(folder), verbosity=0)
    entries[0]["research"] = "bm18-1"
    entries[0]["evidence"]["quote"] = "A sentence copied from the source."
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CommandError, match="no quote"):
        call_command("seed", fixtures=str(folder), verbosity=0)


def test_a_later_step_leaves_an_item_an_analyst_has_moved_on_alone(db, analyst, tmp_path):
    # The tracker as it stood before the research was loaded: the 2018 statuses only.
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder)
    (folder / "statuses_since_2018.yaml").unlink()
    call_command("seed", fixtures=str(folder), verbosity=0)
    item = Recommendation.objects.get(code="BM18-3")
    recommendation_change_status(recommendation=item, status="not_started", note="Analyst's view.", recorded_by=analyst)

    out = StringIO()
    call_command("seed", stdout=out)  # now with the steps since 2018

    assert Recommendation.objects.get(code="BM18-3").status == "not_started"
    assert not item.status_changes.filter(effective_date__gt=datetime.date(2018, 6, 1), recorded_by=None).exists()
    assert "BM18-3" in out.getvalue()  # named as left alone
    assert Recommendation.objects.get(code="BM18-1").status == Status.IMPLEMENTED  # the others come in


def test_owners_use_todays_names_with_their_1997_names(seeded):
    item = Recommendation.objects.get(code="BM18-1")
    assert item.owners.exists()
    from recommendations.models import Owner

    gac = Owner.objects.get(slug="global-affairs-canada")
    assert "DFAIT" in gac.former_names


def test_seed_twice_changes_nothing(seeded):
    before = _snapshot()
    out = StringIO()
    call_command("seed", stdout=out)
    assert "nothing changed" in out.getvalue()
    assert _snapshot() == before


def test_seed_keeps_the_history_analysts_recorded(seeded, analyst):
    item = Recommendation.objects.get(code="BM18-4")  # the 2+2: no later step in the fixtures
    recommendation_change_status(
        recommendation=item,
        status=Status.PARTIALLY_IMPLEMENTED,
        note="Meetings became less regular.",
        effective_date=datetime.date(2022, 3, 10),
        recorded_by=analyst,
    )
    call_command("seed", verbosity=0)
    item.refresh_from_db()
    assert item.status == Status.PARTIALLY_IMPLEMENTED
    assert list(item.status_changes.values_list("to_status", flat=True)) == [
        Status.IMPLEMENTED,
        Status.PARTIALLY_IMPLEMENTED,
    ]


def test_a_changed_fixture_updates_in_place_and_keeps_history(seeded, analyst, tmp_path):
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder)
    item = Recommendation.objects.get(code="JN97-R3.1")
    recommendation_change_status(recommendation=item, status="in_progress", note="Held in 2019.", recorded_by=analyst)
    version = Recommendation.objects.get(pk=item.pk).version
    entries = yaml.safe_load((folder / "recommendations.yaml").read_text(encoding="utf-8"))
    for entry in entries:
        if entry["code"] == "JN97-R3.1":
            entry["title"] = "A retitled item"
    (folder / "recommendations.yaml").write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")

    call_command("seed", fixtures=str(folder), verbosity=0)

    updated = Recommendation.objects.get(code="JN97-R3.1")
    assert updated.pk == item.pk and updated.title == "A retitled item"
    assert updated.version == version + 1 and updated.status == "in_progress"
    assert updated.status_changes.filter(note="Held in 2019.").exists()


def test_a_fixture_quote_not_in_the_source_is_refused(seeded, tmp_path):
    folder = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, folder)
    entries = yaml.safe_load((folder / "recommendations.yaml").read_text(encoding="utf-8"))
    entries[0]["text"] = "A paraphrase that the study never printed."
    (folder / "recommendations.yaml").write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")
    before = _snapshot()
    with pytest.raises(CommandError, match="not found word for word"):
        call_command("seed", fixtures=str(folder), verbosity=0)
    assert _snapshot() == before


def test_dry_run_writes_nothing(db):
    out = StringIO()
    call_command("seed", dry_run=True, stdout=out)
    assert "Dry run: nothing was written." in out.getvalue()
    assert not Recommendation.objects.exists()


def test_whitespace_is_the_only_liberty_a_quote_takes():
    assert normalize_whitespace("stability and\n\nsecurity ") == "stability and security"
    assert quote_occurs_in("stability and security", "regional stability and\n\nsecurity through")
    assert not quote_occurs_in("stability & security", "regional stability and\n\nsecurity through")
