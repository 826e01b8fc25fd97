from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue"

    def ready(self):
        # Signal handlers are connected here, once the app registry is ready, not whenever
        # a module happens to be imported.
        from catalogue import caching, vocabularies

        caching.connect_signals()
        vocabularies.connect_signals()
