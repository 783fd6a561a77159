"""The change feed's exact count reads one row per closed day instead of every change since the date.

PostgreSQL only: `recommendations_changesperday` and the trigger that adds changes
recorded with an old date to their day. See `recommendations.change_counts`.
"""

from django.db import migrations

from recommendations import change_counts


def forwards(apps, schema_editor):
    change_counts.install(schema_editor)


def backwards(apps, schema_editor):
    change_counts.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0013_facet_entries"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
