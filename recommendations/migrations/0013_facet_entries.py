"""Facet entries and pairs: each item's place under its themes and owners, with the columns filters read, kept by
triggers; the status periods' index covers the items with a status on a date."""

import django.db.models.deletion
from django.db import migrations, models

from recommendations import facet_index


def forwards(apps, schema_editor):
    # On SQLite the triggers are installed once every migration has run (post_migrate): a later migration
    # that rebuilds the items table would fail with them in place.
    if schema_editor.connection.vendor != "sqlite":
        facet_index.install(schema_editor)


def backwards(apps, schema_editor):
    facet_index.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0012_status_index_covers_source_and_level"),
    ]

    operations = [
        migrations.CreateModel(
            name="FacetEntry",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "kind", "value", "recommendation", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("kind", models.PositiveSmallIntegerField(choices=[(1, "theme"), (2, "owner")])),
                ("value", models.BigIntegerField(help_text="The theme's or the owner's id.")),
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
                    "level",
                    models.CharField(
                        choices=[("bilateral", "Bilateral"), ("regional", "Regional"), ("global", "Global")],
                        max_length=20,
                    ),
                ),
                ("position", models.PositiveIntegerField()),
                (
                    "recommendation",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="facet_entries",
                        to="recommendations.recommendation",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="recommendations.source",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["kind", "value", "status", "source", "position", "recommendation"],
                        include=("level",),
                        name="facet_value_status_reading_idx",
                    ),
                    models.Index(fields=["kind", "status", "value"], name="facet_kind_status_value_idx"),
                    models.Index(fields=["recommendation", "kind", "value"], name="facet_item_idx"),
                ],
            },
        ),
        migrations.CreateModel(
            name="FacetPair",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "recommendation",
                        "theme",
                        "owner",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
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
                    "level",
                    models.CharField(
                        choices=[("bilateral", "Bilateral"), ("regional", "Regional"), ("global", "Global")],
                        max_length=20,
                    ),
                ),
                ("position", models.PositiveIntegerField()),
                (
                    "owner",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="recommendations.owner",
                    ),
                ),
                (
                    "recommendation",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="recommendations.recommendation",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="recommendations.source",
                    ),
                ),
                (
                    "theme",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="recommendations.theme",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["theme", "status", "owner"], include=("source", "level"), name="pair_theme_owner_idx"
                    ),
                    models.Index(
                        fields=["owner", "status", "theme"], include=("source", "level"), name="pair_owner_theme_idx"
                    ),
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveIndex(model_name="statusperiod", name="period_status_from_idx"),
        migrations.AddIndex(
            model_name="statusperiod",
            index=models.Index(
                fields=["status", "valid_from"],
                include=["valid_until", "recommendation"],
                name="period_status_cover_idx",
            ),
        ),
    ]
