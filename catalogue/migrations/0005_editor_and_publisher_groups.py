"""The Editors and Publishers groups, with their permissions.

Editors write and change records, submit them for review and manage the organisations and
places they cite; they cannot publish, unpublish, archive or delete an initiative.
Publishers can do all of that and also look after the vocabularies.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR_PERMISSIONS = [
    "view_initiative",
    "add_initiative",
    "change_initiative",
    # Inline rows of an initiative are part of changing it.
    *(
        f"{action}_{model}"
        for model in ("partnership", "metric", "source")
        for action in ("view", "add", "change", "delete")
    ),
    *(
        f"{action}_{model}"
        for model in ("organisation", "place")
        for action in ("view", "add", "change")
    ),
    *(f"view_{model}" for model in ("driver", "theme", "outcome", "barrier", "sector")),
]

PUBLISHER_PERMISSIONS = [
    *EDITOR_PERMISSIONS,
    "publish_initiative",
    "delete_initiative",
    "delete_organisation",
    "delete_place",
    *(
        f"{action}_{model}"
        for model in ("driver", "theme", "outcome", "barrier", "sector")
        for action in ("add", "change", "delete")
    ),
]

GROUPS = {"Editors": EDITOR_PERMISSIONS, "Publishers": PUBLISHER_PERMISSIONS}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations have run; make sure they exist.
    app_config = apps.get_app_config("catalogue")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label="catalogue", codename__in=codenames
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found for {name}: {sorted(missing)}")
        group.permissions.add(*permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalogue", "0004_editorial_workflow"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
