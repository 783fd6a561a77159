"""Status periods: the days each status held for an item, derived from the status log.

Kept by the status-change service from now on; filled here from the log as it stands.
"""

import django.db.models.deletion
from django.db import migrations, models

from recommendations.derived import rebuild_status_periods


def fill_periods(apps, schema_editor):
    rebuild_status_periods(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0006_append_only_evidence_edit_history_seed_values"),
    ]

    operations = [
        migrations.CreateModel(
            name="StatusPeriod",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("not_assessed", "Not assessed"),
                            ("not_started", "Not started"),
                            ("in_progress", "In progress"),
                            ("partially_implemented", "Partially implemented"),
                            ("implemented", "Implemented"),
                            ("superseded", "Superseded"),
                            ("not_pursued", "Not pursued"),
                        ],
                        max_length=30,
                    ),
                ),
                (
                    "valid_from",
                    models.DateField(help_text="The change's effective date: the first day the status held."),
                ),
                (
                    "valid_until",
                    models.DateField(
                        blank=True,
                        help_text="The next change's effective date (exclusive); empty while it holds.",
                        null=True,
                    ),
                ),
                (
                    "change",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="period",
                        to="recommendations.statuschange",
                    ),
                ),
                (
                    "recommendation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="status_periods",
                        to="recommendations.recommendation",
                    ),
                ),
            ],
            options={
                "ordering": ["recommendation", "valid_from", "change"],
                "indexes": [
                    models.Index(fields=["recommendation", "valid_from", "change"], name="period_item_from_idx"),
                    models.Index(fields=["status", "valid_from", "valid_until"], name="period_status_from_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("valid_until__isnull", True), ("valid_until__gte", models.F("valid_from")), _connector="OR"
                        ),
                        name="recommendations_statusperiod_ends_after_it_starts",
                        violation_error_message="A status period cannot end before it starts.",
                    )
                ],
            },
        ),
        migrations.RunPython(fill_periods, migrations.RunPython.noop),
    ]
