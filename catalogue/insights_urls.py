"""/insights/: the shape of the catalogue, each figure a link to the list that produces it."""

urlpatterns = []
