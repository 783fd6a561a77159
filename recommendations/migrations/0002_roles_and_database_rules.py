"""Groups for the two roles, and rules that only the database can keep.

- the `analyst` and `reviewer` groups with their permissions (recommendations.roles);
- on PostgreSQL, a GIN index for full-text search (superseded by migration 0004);
- the status log refuses UPDATE at the database level (and DELETE on PostgreSQL,
  where test flushes use TRUNCATE, which row triggers do not see).
"""

from django.contrib.auth.management import create_permissions
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

from recommendations.database_rules import add_append_only_trigger, remove_append_only_trigger
from recommendations.roles import ROLE_PERMISSIONS

SEARCH_INDEX_NAME = "rec_fulltext_idx"  # replaced by a stored search document in 0004

APPEND_ONLY_MESSAGE = "Status changes are append-only: record a new status change instead."


def create_groups(apps, schema_editor):
    # Permissions are normally created after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(content_type__app_label="recommendations", codename__in=codenames)
        group.permissions.set(perms)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


def _search_index():
    return GinIndex(SearchVector("title", "text", config="english"), name=SEARCH_INDEX_NAME)


def add_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("recommendations", "Recommendation"), _search_index())


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("recommendations", "Recommendation"), _search_index())


def add_append_only_triggers(apps, schema_editor):
    add_append_only_trigger(schema_editor, "recommendations_statuschange", APPEND_ONLY_MESSAGE)


def remove_append_only_triggers(apps, schema_editor):
    remove_append_only_trigger(schema_editor, "recommendations_statuschange")


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_groups, remove_groups),
        migrations.RunPython(add_search_index, remove_search_index),
        migrations.RunPython(add_append_only_triggers, remove_append_only_triggers),
    ]
