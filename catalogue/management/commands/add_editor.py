import getpass
import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

PASSWORD_VARIABLE = "CATALOGUE_EDITOR_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create a staff account in the Editors group (--publisher: the Publishers group). "
        "Asks for the password at a terminal; without one it reads "
        f"${PASSWORD_VARIABLE}, or creates the account with no usable password for its "
        "owner to set through “Forgotten your password?” or `manage.py changepassword`."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--publisher", action="store_true", help="A Publisher, who decides what goes live."
        )
        parser.add_argument("--email", default="", help="Their email address.")

    def handle(self, *args, username, publisher=False, email="", **options):
        User = get_user_model()
        username = username.strip()
        if not username:
            raise CommandError("Give a username.")
        if User.objects.filter(username=username).exists():
            raise CommandError(
                f"There is already an account called “{username}”: change its groups in the "
                "admin (Users), or choose another username."
            )
        if email:
            try:
                validate_email(email)
            except ValidationError as error:
                raise CommandError(f"--email: {' '.join(error.messages)}") from error
        group_name = "Publishers" if publisher else "Editors"
        group = Group.objects.filter(name=group_name).first()
        if group is None:
            raise CommandError(f"The {group_name} group is missing: run `manage.py migrate`.")

        user = User(username=username, email=email, is_staff=True)
        password = self._password(user)
        with transaction.atomic():
            if password is None:
                user.set_unusable_password()
            else:
                user.set_password(password)
            user.save()
            user.groups.add(group)
        role = "Publisher" if publisher else "Editor"
        self.stdout.write(self.style.SUCCESS(f"Created {role} “{username}”."))
        if password is None:
            self.stdout.write(
                "No terminal to ask for a password and no "
                f"${PASSWORD_VARIABLE}: the account has no usable password yet. Set one with "
                f"`manage.py changepassword {username}`."
            )

    def _password(self, user):
        from_environment = os.environ.get(PASSWORD_VARIABLE)
        if from_environment is not None:
            self._validate(from_environment, user)
            return from_environment
        if not sys.stdin.isatty():
            return None
        for _attempt in range(3):
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The two passwords differ. Try again.")
                continue
            try:
                self._validate(password, user)
            except CommandError as error:
                self.stderr.write(str(error))
                continue
            return password
        raise CommandError("No acceptable password after three tries; nothing was created.")

    def _validate(self, password, user):
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError("Password: " + " ".join(error.messages)) from error
