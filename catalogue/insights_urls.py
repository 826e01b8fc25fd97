"""/insights/: the shape of the catalogue, each figure a link to the list that produces it."""

from django.urls import path

from catalogue import insights

urlpatterns = [
    path("", insights.insights, name="insights"),
    path("<slug:table>.csv", insights.insights_csv, name="insights-csv"),
]
