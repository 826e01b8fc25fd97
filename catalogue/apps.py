from django.apps import AppConfig
from django.contrib.staticfiles.apps import StaticFilesConfig as BaseStaticFilesConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue"


class StaticFilesConfig(BaseStaticFilesConfig):
    """django.contrib.staticfiles, with what is not to be served left out of collectstatic:
    the Sass sources (compiled to static/css/ by `make css`) and Swagger UI's OAuth2 redirect
    page (an HTML page with an inline script; the API has no sign-in for it to serve)."""

    ignore_patterns = [
        *BaseStaticFilesConfig.ignore_patterns,
        "scss",
        "*.scss",
        "oauth2-redirect.*",
    ]
