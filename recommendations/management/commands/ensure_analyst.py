"""`python manage.py ensure_analyst`: make sure a local analyst account exists.

Used by the README's run command. The password comes from ANALYST_PASSWORD or
is generated and printed once; an existing account's password is never reset.
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from recommendations.roles import ANALYST_GROUP


class Command(BaseCommand):
    help = "Create the local analyst account (staff, in the analyst group) if it does not exist."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("ANALYST_USERNAME", "analyst"))

    @transaction.atomic
    def handle(self, *args, **options):
        username = options["username"]
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is not None:
            self.stdout.write(
                f"Analyst account '{username}' already exists; its password is unchanged "
                f"(reset it with: python manage.py changepassword {username})."
            )
            return
        password = os.environ.get("ANALYST_PASSWORD") or secrets.token_urlsafe(12)
        try:
            validate_password(password, User(username=username))
        except ValidationError as exc:
            raise CommandError(
                "ANALYST_PASSWORD is too weak: " + " ".join(exc.messages) + " Choose another, or leave it unset "
                "to have one generated."
            ) from None
        user = User.objects.create_user(username=username, password=password, is_staff=True)
        user.groups.add(Group.objects.get(name=ANALYST_GROUP))
        shown = "(from ANALYST_PASSWORD)" if os.environ.get("ANALYST_PASSWORD") else password
        self.stdout.write(self.style.SUCCESS(f"Created analyst account: username '{username}', password {shown}"))
        self.stdout.write("Keep this password: it is shown only once.")
