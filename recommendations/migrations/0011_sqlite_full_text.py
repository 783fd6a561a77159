"""Full-text search that means the same on SQLite as on PostgreSQL.

SQLite gets an FTS5 index of every item (title, text, the notes of its links),
kept in step by triggers; PostgreSQL's stored search document takes in the notes
of the item's links too (weight C, below the title's A and the text's B), kept
by a trigger on the links. See `recommendations.search_index`.
"""

from django.db import migrations

from recommendations import search_index


def forwards(apps, schema_editor):
    # The index as it was then: English titles only (the translated ones come in 0015, and 0016 indexes them).
    search_index.install(schema_editor, translations=False)


def backwards(apps, schema_editor):
    search_index.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0010_schedule_and_priority"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
