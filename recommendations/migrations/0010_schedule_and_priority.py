"""Recurring schedules and the priority flag: fields an item carries where its text sets a schedule, or
where analysts flag it to follow, with partial indexes for the items that have them."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0009_filter_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="recommendation",
            name="priority",
            field=models.BooleanField(
                default=False, help_text="Flagged by analysts as a priority to follow; say why in the priority note."
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="priority_note",
            field=models.CharField(
                blank=True,
                help_text="Why the item is a priority (required while it is one; shown publicly).",
                max_length=300,
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="schedule_months",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Set only where the text sets a recurring schedule (a meeting every 12 to 18 months): the longest interval it allows between two occurrences, in months. The item is overdue once its last recorded occurrence is older than that.",
                null=True,
                validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)],
                verbose_name="schedule (months)",
            ),
        ),
        migrations.AddField(
            model_name="recommendation",
            name="schedule_note",
            field=models.CharField(
                blank=True, help_text="How the schedule was read from the text, in the tracker's words.", max_length=300
            ),
        ),
        migrations.AddIndex(
            model_name="recommendation",
            index=models.Index(
                condition=models.Q(("priority", True)), fields=["source", "position"], name="rec_priority_reading_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="recommendation",
            index=models.Index(
                condition=models.Q(("schedule_months__isnull", False)),
                fields=["schedule_months"],
                name="rec_scheduled_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="recommendation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("schedule_months__isnull", True),
                    models.Q(("schedule_months__gte", 1), ("schedule_months__lte", 120)),
                    _connector="OR",
                ),
                name="recommendations_recommendation_schedule_months_valid",
                violation_error_message="Give the schedule as a number of months from 1 to 120, or leave it empty.",
            ),
        ),
        migrations.AddConstraint(
            model_name="recommendation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("priority", False), models.Q(("priority_note", ""), _negated=True), _connector="OR"
                ),
                name="recommendations_recommendation_priority_has_note",
                violation_error_message="Say why the item is a priority in the priority note; it is shown with the flag.",
            ),
        ),
    ]
