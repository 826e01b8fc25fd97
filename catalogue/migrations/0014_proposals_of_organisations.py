"""Proposals of changes to a public organisation (one a published initiative names), beside
those to published initiatives: a proposal is of exactly one of the two."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0013_search_partners_in_order"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="proposal",
            name="organisation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="proposals",
                to="catalogue.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="initiative",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="proposals",
                to="catalogue.initiative",
            ),
        ),
        migrations.AddIndex(
            model_name="proposal",
            index=models.Index(fields=["state", "organisation"], name="proposal_state_org_idx"),
        ),
        migrations.AddConstraint(
            model_name="proposal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("initiative__isnull", False), ("organisation__isnull", True)),
                    models.Q(("initiative__isnull", True), ("organisation__isnull", False)),
                    _connector="OR",
                ),
                name="proposal_of_one_record",
            ),
        ),
    ]
