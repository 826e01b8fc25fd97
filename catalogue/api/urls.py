"""The read-only JSON API, /api/v1/."""

urlpatterns = []
