"""The catalogue's URLs, plus views that fail on purpose: for the error-page tests
(`@pytest.mark.urls("tests.fault_urls")`)."""

from django.core.exceptions import BadRequest, PermissionDenied
from django.db import OperationalError
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.urls import path
from rest_framework.views import APIView

from catalogue import errors, limits
from catalogue.urls import handler400, handler403, handler404, handler500
from catalogue.urls import urlpatterns as catalogue_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

DATABASE_DOWN = "connection to server failed: Connection refused"


def raising(exception, *args):
    def view(request):
        raise exception(*args)

    return view


class RaisingApiView(APIView):
    exception = RuntimeError
    message = "boom"

    def get(self, request):
        raise self.exception(self.message)


urlpatterns = [
    path("fault/400/", raising(BadRequest, "unreadable")),
    path("fault/403/", raising(PermissionDenied)),
    path("fault/csrf/", lambda request: errors.csrf_failure(request, REASON_NO_CSRF_COOKIE)),
    path("fault/429/", lambda request: limits.too_many(request, 60, "rate")),
    path("fault/429-exports/", lambda request: limits.too_many(request, 10, "exports")),
    path("fault/500/", raising(RuntimeError, "boom")),
    path("fault/503/", raising(OperationalError, DATABASE_DOWN)),
    path("api/fault/500/", RaisingApiView.as_view()),
    path(
        "api/fault/503/", RaisingApiView.as_view(exception=OperationalError, message=DATABASE_DOWN)
    ),
    *catalogue_urlpatterns,
]
