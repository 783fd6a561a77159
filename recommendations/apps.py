from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_role_groups(sender, using, **kwargs) -> None:
    from recommendations.roles import ensure_role_groups

    ensure_role_groups(using=using)


def _facet_triggers_off_during_sqlite_migrations(sender, using, plan=None, **kwargs) -> None:
    from recommendations import facet_index

    if plan:
        facet_index.before_sqlite_migrations(using)


def _facet_triggers_back_after_sqlite_migrations(sender, using, plan=None, **kwargs) -> None:
    from recommendations import facet_index

    if plan:
        facet_index.after_sqlite_migrations(using)


class RecommendationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recommendations"
    verbose_name = _("Recommendations")

    def ready(self) -> None:
        # Migration 0002 creates the role groups; after every later migrate (and every test
        # flush, which empties the tables and re-emits post_migrate) they are put back in step
        # with ROLE_PERMISSIONS, once permissions exist.
        post_migrate.connect(_ensure_role_groups, sender=self, dispatch_uid="recommendations_role_groups")
        # SQLite rebuilds a table for most column changes, and a trigger on another table that names
        # it makes the rebuild fail: the facet entries' triggers are off while migrations run there.
        pre_migrate.connect(
            _facet_triggers_off_during_sqlite_migrations, sender=self, dispatch_uid="recommendations_facets_off"
        )
        post_migrate.connect(
            _facet_triggers_back_after_sqlite_migrations, sender=self, dispatch_uid="recommendations_facets_back"
        )
        # SQLite's search triggers write Japanese as pairs of characters by calling a Python function
        # (recommendations.cjk.search_form), given to every connection as it opens.
        from recommendations import cjk

        connection_created.connect(cjk.register_sqlite_function, dispatch_uid="recommendations_search_form")
