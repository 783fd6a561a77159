"""The two roles of the tracker and what each may do, as Django groups.

The groups are created by a data migration; `ROLE_PERMISSIONS` is read by
that migration and by the tests, so the two cannot disagree.
"""

ANALYST_GROUP = "analyst"
REVIEWER_GROUP = "reviewer"

_VIEW_ALL = [
    "view_source",
    "view_theme",
    "view_owner",
    "view_recommendation",
    "view_recommendationlink",
    "view_evidence",
    "view_evidenceretraction",
    "view_evidencelinkcheck",
    "view_statuschange",
    "view_recommendationedit",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Analysts keep the tracker true: change items and their links (on record), record status,
    # add evidence and retract it. Nobody changes or deletes recorded evidence.
    ANALYST_GROUP: [
        *_VIEW_ALL,
        "change_recommendation",
        "add_statuschange",
        "add_evidence",
        "add_evidenceretraction",
        "add_recommendationlink",
        "change_recommendationlink",
        "delete_recommendationlink",
    ],
    # Reviewers read everything and change nothing.
    REVIEWER_GROUP: list(_VIEW_ALL),
}


def user_is_analyst(user) -> bool:
    """Return True when the user may record status changes and evidence."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm("recommendations.add_statuschange"))


def ensure_role_groups(*, using: str = "default") -> None:
    """Create the role groups if missing and give each exactly its permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        permissions = Permission.objects.using(using).filter(
            content_type__app_label="recommendations", codename__in=codenames
        )
        group.permissions.set(permissions)
