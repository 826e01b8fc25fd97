"""Staff accounts: Editors and Publishers."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.models import Group

from catalogue.admin.hostile import HostileQueryMixin

# Staff accounts: adding an Editor or a Publisher is one page (username, email, role and
# password), not an add page followed by a change page to make them staff and pick a group.

ROLES = {
    "Editors": "Editor: writes and changes drafts, proposes changes to published records",
    "Publishers": "Publisher: also publishes, unpublishes, archives and deletes",
}


class StaffCreationForm(AdminUserCreationForm):
    role = forms.ChoiceField(
        label="Role",
        choices=[("", "No role: not a member of staff"), *ROLES.items()],
        required=False,
        widget=forms.RadioSelect,
        help_text="Editors and Publishers can sign in to this admin.",
    )

    class Meta(AdminUserCreationForm.Meta):
        fields = ("username", "email")

    def save(self, commit=True):
        user = super().save(commit=False)
        user.is_staff = bool(self.cleaned_data.get("role"))
        if commit:
            user.save()
            self._save_m2m()
        return user

    def _save_m2m(self):
        super()._save_m2m()
        role = self.cleaned_data.get("role")
        if role:
            self.instance.groups.add(Group.objects.get(name=role))


class StaffUserAdmin(HostileQueryMixin, UserAdmin):
    add_form = StaffCreationForm
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "username",
                    "email",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        )
    ]
    list_display = ["username", "email", "roles", "is_staff", "is_active", "last_login"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Groups")
    def roles(self, obj):
        return ", ".join(group.name for group in obj.groups.all())


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), StaffUserAdmin)
