"""Indexes for the filters that combine a theme or an owner with a status.

A theme's (or an owner's) items are read from the link table's (theme, item)
index, and the items with a status from (status, id), both without visiting
the rows: the count of "theme X and status Y" becomes a hashed semi-join of two
index-only scans instead of a probe of every item of the theme.
"""

from django.conf import settings
from django.db import migrations, models

LINK_INDEXES = [
    ("recommendations_recommendation_themes", "rec_themes_theme_item_idx", "theme_id"),
    ("recommendations_recommendation_owners", "rec_owners_owner_item_idx", "owner_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0008_evidence_link_checks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="recommendation",
            index=models.Index(fields=["status", "id"], name="rec_status_id_idx"),
        ),
        *[
            migrations.RunSQL(
                f"CREATE INDEX {name} ON {table} ({column}, recommendation_id)",
                f"DROP INDEX {name}",
            )
            for table, name, column in LINK_INDEXES
        ],
    ]
