"""Two PostgreSQL read structures, kept by the database itself:

- the change feed's exact count reads one row per closed day instead of every change
  since the date (`recommendations_changesperday` and the trigger that adds changes
  recorded with an old date to their day; see `recommendations.change_counts`);
- a search counts and ranks its matches in a narrow copy of each item's search
  document (`recommendations_searchrow`, kept by triggers on the items; see
  `recommendations.search_index`).

SQLite has neither: it counts from its indexes, and searches its FTS5 index.
"""

import django.contrib.postgres.search
from django.db import migrations, models

from recommendations import change_counts, search_index


def forwards(apps, schema_editor):
    change_counts.install(schema_editor)
    search_index.install_search_rows(schema_editor)


def backwards(apps, schema_editor):
    search_index.uninstall_search_rows(schema_editor)
    change_counts.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0012_status_index_covers_source_and_level"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchRow",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("code", models.CharField(max_length=32)),
                ("source_id", models.BigIntegerField()),
                ("position", models.IntegerField()),
                ("search_document", django.contrib.postgres.search.SearchVectorField(null=True)),
            ],
            options={"db_table": "recommendations_searchrow", "managed": False},
        ),
        migrations.RunPython(forwards, backwards),
    ]
