"""Evidence becomes append-only (retracted, never edited), items get an edit history, and
the seed remembers what it last wrote so that it never reverts an analyst.

The database refuses UPDATE of recorded evidence, retractions and edit-history
entries (and DELETE on PostgreSQL), as it already does for the status log.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from recommendations.database_rules import add_append_only_trigger, remove_append_only_trigger

APPEND_ONLY_TABLES = {
    "recommendations_evidence": "Recorded evidence is append-only: retract it and add the right evidence.",
    "recommendations_evidenceretraction": "Evidence retractions are append-only.",
    "recommendations_recommendationedit": "The edit history is append-only.",
}


def add_triggers(apps, schema_editor):
    for table, message in APPEND_ONLY_TABLES.items():
        add_append_only_trigger(schema_editor, table, message)


def remove_triggers(apps, schema_editor):
    for table in APPEND_ONLY_TABLES:
        remove_append_only_trigger(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0005_status_log_date_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="SeededValues",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("model", models.CharField(help_text="The seeded model, e.g. 'recommendation'.", max_length=50)),
                (
                    "key",
                    models.CharField(help_text="The row's natural key, e.g. an item's code or a slug.", max_length=200),
                ),
                ("values", models.JSONField(default=dict, help_text="Field name → the value the seed last wrote.")),
                ("seeded_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "values last seeded",
                "verbose_name_plural": "values last seeded",
                "constraints": [
                    models.UniqueConstraint(fields=("model", "key"), name="recommendations_seededvalues_unique_row")
                ],
            },
        ),
        migrations.CreateModel(
            name="EvidenceRetraction",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "reason",
                    models.TextField(
                        help_text="Why the evidence is withdrawn (e.g. the link pointed to the wrong page)."
                    ),
                ),
                ("retracted_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "evidence",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="retraction",
                        to="recommendations.evidence",
                    ),
                ),
                (
                    "retracted_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "evidence retraction",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True),
                        name="recommendations_evidenceretraction_reason_required",
                        violation_error_message="A retraction needs a reason.",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RecommendationEdit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "changes",
                    models.JSONField(
                        help_text='What changed: {"field": {"before": ..., "after": ...}}, with people and items by name or code.'
                    ),
                ),
                ("note", models.TextField(blank=True, help_text="Why, where the editor said so.")),
                ("version", models.PositiveIntegerField(help_text="The item's version after this edit.")),
                ("edited_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "edited_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        help_text="Who made the edit; empty for the seed (a corrected fixture).",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "recommendation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="edits",
                        to="recommendations.recommendation",
                    ),
                ),
            ],
            options={
                "verbose_name": "edit of a recommendation",
                "verbose_name_plural": "edit history",
                "ordering": ["recommendation", "edited_at", "id"],
                "indexes": [models.Index(fields=["recommendation", "edited_at"], name="rec_edit_item_idx")],
            },
        ),
        migrations.RunPython(add_triggers, remove_triggers),
    ]
