"""Full-text search finds an item by its French and Japanese titles, and Japanese as pairs of characters.

The item's translated titles join its English title (weight A on PostgreSQL, the
`title` column of SQLite's index), and every text the index reads goes through
`recommendations.cjk.search_form` (CJK runs as overlapping pairs of characters, full-width
forms as ASCII): PostgreSQL gets the function in SQL and a trigger that follows the new
columns; SQLite's triggers call the Python function. Both indexes are filled again.
"""

from django.db import migrations

from recommendations import search_index


def forwards(apps, schema_editor):
    search_index.install(schema_editor)


def backwards(apps, schema_editor):
    search_index.install(schema_editor, translations=False)


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0016_interface_names"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
