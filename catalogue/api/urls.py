"""The read-only JSON API, /api/v1/ (see catalogue/api/views.py for its conventions)."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from catalogue.api import views

app_name = "api"

router = SimpleRouter()
router.register("initiatives", views.InitiativeViewSet, basename="initiative")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
for param, viewset in views.TAXONOMY_VIEWSETS.items():
    router.register(f"{param}s", viewset, basename=param)

urlpatterns = [
    path("", views.ApiRoot.as_view(), name="root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
    # Anything else ending in a slash: a JSON 404, not the HTML page. Paths without the
    # slash still get CommonMiddleware's redirect to it first, as everywhere else.
    re_path(r"^[\s\S]*/$", views.UnknownPath.as_view()),
]
