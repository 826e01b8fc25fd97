"""Driving the admin as a browser would: staff in a group, the change form posted back."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

ADMIN = "/admin/catalogue/initiative/"


def member_of(group_name, username):
    user = get_user_model().objects.create_user(username, password="x" * 20, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def form_data(response):
    """What the admin change form would post back unchanged, inlines included."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management[name].value()
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None and value is not False:
                data[form.add_prefix(name)] = value
    return data


def post_change(client, initiative, transition=None, **changes):
    url = f"{ADMIN}{initiative.pk}/change/"
    data = form_data(client.get(url))
    data.update(changes)
    if transition:
        data["_transition"] = transition
    return client.post(url, data)


def new_record_data(lead, **extra):
    return {
        "title": "Shared care records",
        "slug": "shared-care-records",
        "summary": "Joined-up records for carers.",
        "lead_organisation": lead.pk,
        "stage": "pilot",
        "evidence_level": 1,
        "partnerships-TOTAL_FORMS": 0,
        "partnerships-INITIAL_FORMS": 0,
        "metrics-TOTAL_FORMS": 0,
        "metrics-INITIAL_FORMS": 0,
        "sources-TOTAL_FORMS": 0,
        "sources-INITIAL_FORMS": 0,
        "quotes-TOTAL_FORMS": 0,
        "quotes-INITIAL_FORMS": 0,
        **extra,
    }


def run_action(client, action, initiatives):
    return client.post(
        ADMIN,
        {"action": action, "_selected_action": [i.pk for i in initiatives]},
        follow=True,
    )
