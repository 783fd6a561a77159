"""Evidence link checks: the latest visit of each evidence web address (a derived observation, not the record)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0007_status_periods"),
    ]

    operations = [
        migrations.CreateModel(
            name="EvidenceLinkCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "checked_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, help_text="When the address was last visited."
                    ),
                ),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("ok", "OK"),
                            ("redirected", "Redirected"),
                            ("not_found", "Not found (404 or 410)"),
                            ("server_error", "Server error (5xx)"),
                            ("client_error", "Refused by the site (other 4xx)"),
                            ("timeout", "No answer in time"),
                            ("refused", "Unreachable (connection refused, unknown host, network error)"),
                        ],
                        help_text="What the last visit found.",
                        max_length=20,
                    ),
                ),
                (
                    "http_status",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        help_text="The HTTP status of the last answer; empty when no answer came.",
                        null=True,
                    ),
                ),
                (
                    "final_url",
                    models.CharField(
                        blank=True,
                        help_text="Where the address led after redirects.",
                        max_length=2000,
                        verbose_name="final address",
                    ),
                ),
                ("detail", models.CharField(blank=True, help_text="What went wrong, in a few words.", max_length=300)),
                (
                    "archived_url",
                    models.CharField(
                        blank=True,
                        help_text="For a dead link only: the Internet Archive's address for its copy nearest to the evidence's date (or the check's). The archive answers it with the nearest snapshot it holds; it is not a verified snapshot.",
                        max_length=2100,
                        verbose_name="archived copy",
                    ),
                ),
                (
                    "consecutive_failures",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="How many checks in a row, up to the last, found it not found, failing on the server, not answering or unreachable.",
                    ),
                ),
                (
                    "failing_since",
                    models.DateTimeField(
                        blank=True, help_text="When the first of those consecutive failed checks was made.", null=True
                    ),
                ),
                (
                    "evidence",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="link_check",
                        to="recommendations.evidence",
                    ),
                ),
            ],
            options={
                "verbose_name": "evidence link check",
                "ordering": ["evidence"],
                "indexes": [models.Index(fields=["checked_at"], name="linkcheck_checked_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "outcome__in",
                                ["ok", "redirected", "not_found", "server_error", "client_error", "timeout", "refused"],
                            )
                        ),
                        name="recommendations_evidencelinkcheck_outcome_valid",
                        violation_error_message="Unknown outcome of a link check.",
                    )
                ],
            },
        ),
    ]
