"""The tracker's own words in French and Japanese: a column beside each translated field of themes, owners and
items (recommendations/translation.py)."""

from django.db import migrations, models

from recommendations import search_index


def reinstall_sqlite_search(apps, schema_editor):
    # SQLite rebuilt the items table to add the columns, and its search triggers went with it.
    if schema_editor.connection.vendor == "sqlite":
        search_index.install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0014_change_counts_by_day"),
    ]

    operations = [
        migrations.AddField(
            model_name="owner",
            name="description_fr",
            field=models.TextField(
                blank=True, db_default="", default="", help_text="Left empty, readers see the English, marked as such."
            ),
        ),
        migrations.AddField(
            model_name="owner",
            name="description_ja",
            field=models.TextField(
                blank=True, db_default="", default="", help_text="Left empty, readers see the English, marked as such."
            ),
        ),
        migrations.AddField(
            model_name="owner",
            name="name_fr",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="owner",
            name="name_ja",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="due_date_note_fr",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="due_date_note_ja",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="editorial_note_fr",
            field=models.TextField(
                blank=True, db_default="", default="", help_text="Left empty, readers see the English, marked as such."
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="editorial_note_ja",
            field=models.TextField(
                blank=True, db_default="", default="", help_text="Left empty, readers see the English, marked as such."
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="priority_note_fr",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="priority_note_ja",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="schedule_note_fr",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="schedule_note_ja",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="title_fr",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="title_ja",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="theme",
            name="description_fr",
            field=models.TextField(
                blank=True, db_default="", default="", help_text="Left empty, readers see the English, marked as such."
            ),
        ),
        migrations.AddField(
            model_name="theme",
            name="description_ja",
            field=models.TextField(
                blank=True, db_default="", default="", help_text="Left empty, readers see the English, marked as such."
            ),
        ),
        migrations.AddField(
            model_name="theme",
            name="name_fr",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=100,
            ),
        ),
        migrations.AddField(
            model_name="theme",
            name="name_ja",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text="Left empty, readers see the English, marked as such.",
                max_length=100,
            ),
        ),
        migrations.RunPython(reinstall_sqlite_search, migrations.RunPython.noop),
    ]
