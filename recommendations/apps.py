from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_role_groups(sender, using, **kwargs) -> None:
    from recommendations.roles import ensure_role_groups

    ensure_role_groups(using=using)


class RecommendationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        # Migration 0002 creates the role groups; after every later migrate (and every test
        # flush, which empties the tables and re-emits post_migrate) they are put back in step
        # with ROLE_PERMISSIONS, once permissions exist.
        post_migrate.connect(_ensure_role_groups, sender=self, dispatch_uid="recommendations_role_groups")
