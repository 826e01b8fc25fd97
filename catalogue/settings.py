"""Settings for the catalogue, read from the environment.

Development defaults apply only while DJANGO_DEBUG is on (the default when no secret key is
set). In production (DJANGO_DEBUG off) the process refuses to start without a secret key,
allowed hosts and a database URL.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", default=not SECRET_KEY)

if DEBUG:
    SECRET_KEY = SECRET_KEY or "django-insecure-development-only-never-use-in-production"
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
else:
    if not SECRET_KEY:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")
    if not os.environ.get("DATABASE_URL"):
        raise ImproperlyConfigured("DATABASE_URL must be set when DJANGO_DEBUG is off.")

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "django_filters",
    "django_countries",
    "reversion",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "catalogue",
]

MIDDLEWARE = [
    # Outermost: fills in the security headers on every response, even those answered before
    # the middleware below (health checks, static files, a wrong Host's 400).
    "catalogue.security.BaselineHeadersMiddleware",
    "catalogue.health.HealthCheckMiddleware",  # next: before host checks and HTTPS redirects
    "catalogue.logs.RequestIdMiddleware",  # next: every other response gets an id and a log line
    "catalogue.errors.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "catalogue.limits.RateLimitMiddleware",  # after authentication: staff are not limited
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# django-axes checks each sign-in before Django's own backend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "catalogue.urls"
WSGI_APPLICATION = "catalogue.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "catalogue.context_processors.site",
            ],
        },
    },
]

# SQLite is the embedded default so the first `make run` needs nothing else installed;
# PostgreSQL (DATABASE_URL=postgres://...) is the production engine.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# Behind PgBouncer in transaction mode a server-side cursor (what .iterator() uses for the
# exports) can outlive its connection's turn: switch them off there.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DJANGO_DISABLE_SERVER_SIDE_CURSORS")
# Per-process memory by default; point several app servers at one Redis so cached facet
# counts and pages are computed once for all of them (tests/test_shared_cache.py).
# The list's results, one entry per initiative (about 1 kB each), have a cache of their own:
# in process memory, the default cache's 300 entries would be pushed out by the larger pages
# and panels of a varied load. DJANGO_SUMMARY_CACHE_ENTRIES bounds it (20,000: ~25 MB).
if redis_url := os.environ.get("DJANGO_REDIS_URL"):
    redis_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    CACHES = {"default": redis_cache, "summaries": redis_cache}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "summaries": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "summaries",
            "OPTIONS": {
                "MAX_ENTRIES": int(os.environ.get("DJANGO_SUMMARY_CACHE_ENTRIES", "20000"))
            },
        },
    }
if "postgresql" in DATABASES["default"]["ENGINE"]:
    # An unreachable database host fails a request in seconds (a 503, catalogue/errors.py),
    # not after the operating system's TCP timeout. ?connect_timeout= in the URL overrides.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

# Read replicas (streaming standbys of the primary): public reads go to them, everything an
# editor sees and every write to the primary (catalogue/routing.py, docs/scaling.md). Space-
# or comma-separated URLs, named replica1, replica2... In tests each mirrors the primary.
DATABASE_REPLICAS = []
for url in re.split(r"[\s,]+", os.environ.get("DATABASE_REPLICA_URLS", "")):
    if not url:
        continue
    replica = dj_database_url.parse(
        url,
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
    )
    replica["DISABLE_SERVER_SIDE_CURSORS"] = DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"]
    if "postgresql" in replica["ENGINE"]:
        replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    replica["TEST"] = {"MIRROR": "default"}
    alias = f"replica{len(DATABASE_REPLICAS) + 1}"
    DATABASES[alias] = replica
    DATABASE_REPLICAS.append(alias)
if DATABASE_REPLICAS:
    DATABASE_ROUTERS = ["catalogue.routing.ReplicaRouter"]
    # After authentication: only visitors who are not signed in read from a replica.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "catalogue.routing.ReplicaMiddleware",
    )
# Seconds a replica that could not be reached is left alone (its reads go to the primary).
CATALOGUE_REPLICA_RETRY = float(os.environ.get("DJANGO_REPLICA_RETRY", "30"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The covering index for facet counts has INCLUDE columns, which SQLite ignores (harmlessly).
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# Initiatives run by or across the European Union are placed in it, as in Public Sector
# Tech Watch; django-countries has no entry for it otherwise.
COUNTRIES_OVERRIDE = {"EU": "European Union"}

STATIC_URL = "/static/"
# What of static/ is served, folder by folder: not the Sass sources (static/scss/, compiled
# to static/css/ by `make css`). A new folder is served once it is named here.
STATICFILES_DIRS = [
    (folder, BASE_DIR / "static" / folder) for folder in ("api", "css", "govuk", "images", "js")
]
# Where collectstatic writes and whitenoise serves from; elsewhere for a read-only checkout.
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Sources, node_modules and the Sass tree are not served (STATICFILES_DIRS above), and
# WhiteNoise serves only what collectstatic gathered. Static files are for our own pages: no
# Access-Control-Allow-Origin: * on them.
WHITENOISE_ALLOW_ALL_ORIGINS = False
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp", "woff2", "ico")

# Strict CSP: only our own origin, scripts by nonce, no inline styles or scripts.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No powerful browser feature is used by any page (nor the admin, nor Swagger UI). Only
# features today's browsers recognise: an unknown one is logged as a console error.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "bluetooth",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}
# Only the admin sets cookies (session and CSRF); the public pages set none. Neither is
# read by JavaScript.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_HOURS", "8")) * 3600  # a working day
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The preload directive is consent to being listed in browsers' preload lists; listing
    # only follows a submission at hstspreload.org. DJANGO_HSTS_PRELOAD=0 withholds it.
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)

ADMIN_URL = os.environ.get("DJANGO_ADMIN_URL", "admin/").strip("/") + "/"
# Where signing in leads when its `next` is missing or points off the site (Django's default,
# /accounts/profile/, is not a page here): the admin's index.
LOGIN_REDIRECT_URL = "admin:index"
# How many proxies (load balancers) in front of the app append to X-Forwarded-For: the
# visitor's address is that many entries from the right. 0: REMOTE_ADDR is the visitor.
TRUSTED_PROXY_COUNT = int(os.environ.get("DJANGO_TRUSTED_PROXY_COUNT", "0"))

# Sign-in attempts (django-axes, stored in the database so every app server sees them):
# after AXES_FAILURE_LIMIT failures for one username from one address, that pair is
# refused (429) until AXES_COOLOFF_TIME has passed since the last failure. By username and
# address together, so guessing cannot lock an editor out from elsewhere and one office
# behind one address is not locked out by a colleague's typing.
AXES_FAILURE_LIMIT = int(os.environ.get("DJANGO_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("DJANGO_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "catalogue.security.locked_out"
AXES_CLIENT_IP_CALLABLE = "catalogue.security.client_ip"
AXES_ALLOWED_CORS_ORIGINS = "null"  # its JSON lockout answer is for our own pages only
AXES_VERBOSE = False  # no banner on every command; lockouts are still logged

# A GOV.UK page saying why a form was refused (expired, cookies blocked), not Django's.
CSRF_FAILURE_VIEW = "catalogue.errors.csrf_failure"

CATALOGUE_NAME = "Public Sector Innovation Case Studies"


def rate(name, default):
    """A rate from the environment: "300/min" (s, min, hour, day), or off/0 for none."""
    value = os.environ.get(name, default).strip().lower()
    if value in ("", "0", "off", "none"):
        return None
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name}={value!r}: give a rate such as 300/min, or off.")
    return value


# Requests one visitor (one address: see DJANGO_TRUSTED_PROXY_COUNT) may make, per kind
# (catalogue/limits.py); past it, 429 with Retry-After. Generous, because a whole department
# may reach the site through one address.
CATALOGUE_RATE_LIMITS = {
    "pages": rate("DJANGO_RATE_PAGES", "300/min"),
    "api": rate("DJANGO_RATE_API", "300/min"),
    "exports": rate("DJANGO_RATE_EXPORTS", "60/hour"),
}
# Full exports running at once in one process; more are answered 429 with Retry-After.
CATALOGUE_MAX_CONCURRENT_EXPORTS = int(os.environ.get("DJANGO_MAX_CONCURRENT_EXPORTS", "1"))
CATALOGUE_EXPORT_RETRY_AFTER = 10  # seconds
CATALOGUE_PAGE_SIZE = 20
# The last page of a list served (the list shows it instead of a later one; the API answers
# 400): a page far down a large result costs a sort of everything before it. 500 pages are
# 10,000 results; the exports have them all.
CATALOGUE_MAX_PAGE = int(os.environ.get("DJANGO_MAX_PAGE", "500"))
# Facet counts from the in-memory index (catalogue/facet_index.py): "sync" rebuilds it in the
# first request that finds the catalogue version moved (others wait for it), "background" in
# a thread, counting with SQL meanwhile (for long write-heavy periods such as a bulk import),
# "off" always counts with SQL. PostgreSQL only (it needs the catalogue version). Measured
# with make bench's cold path at 100,000 initiatives: sync 17.6 req/s, p50 80 ms; background
# 4.3 req/s, p50 523 ms (docs/scaling.md).
CATALOGUE_FACET_INDEX = os.environ.get("DJANGO_FACET_INDEX", "sync")
if CATALOGUE_FACET_INDEX not in ("background", "sync", "off"):
    raise ImproperlyConfigured("DJANGO_FACET_INDEX must be background, sync or off.")
# The longest a shared cache (a proxy, a CDN) may keep the feed or a sitemap, and so the
# longest an unpublished record may stay visible there. Pages, exports and the API carry no
# freshness at all: every request reaches the server, which never shows a stale record.
CATALOGUE_PUBLIC_MAX_AGE = int(os.environ.get("DJANGO_PUBLIC_MAX_AGE", "300"))
# Where feedback and accessibility requests go (phase banner, footer, accessibility statement).
CATALOGUE_CONTACT_EMAIL = os.environ.get("CATALOGUE_CONTACT_EMAIL", "catalogue@example.org")
# Serves /bench/ceiling/, the constant response the shipped benchmark measures against.
CATALOGUE_BENCHMARK = env_bool("DJANGO_BENCHMARK")

# Logs go to stdout, one JSON object per line in production (catalogue/logs.py), each with
# the request id; text while developing unless DJANGO_LOG_FORMAT says otherwise.
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("DJANGO_LOG_FORMAT must be json or text.")
# Django logs each of these to django.security.<name> (django.core.exceptions).
SUSPICIOUS_REQUESTS = [
    "SuspiciousOperation",
    "DisallowedRedirect",
    "DisallowedModelAdminLookup",
    "DisallowedModelAdminToField",
    "InvalidSessionKey",
    "RequestDataTooBig",
    "SuspiciousFileOperation",
    "SuspiciousMultipartForm",
    "SuspiciousSession",
    "TooManyFieldsSent",
    "TooManyFilesSent",
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "catalogue.logs.RequestIdFilter"},
        "unhandled_exceptions_only": {"()": "catalogue.logs.UnhandledExceptionsOnly"},
        "suspicious_as_warning": {"()": "catalogue.logs.SuspiciousAsWarning"},
    },
    "formatters": {
        "json": {"()": "catalogue.logs.JSONFormatter"},
        "text": {"()": "catalogue.logs.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own handlers (console while debugging, mail_admins) off: everything goes
        # through the root's, once.
        "django": {"level": "INFO"},
        "django.db.backends": {"level": "INFO"},
        # RequestIdMiddleware logs every request: of django.request's lines only the
        # tracebacks of unhandled exceptions add anything, and of runserver's only its errors.
        "django.request": {"filters": ["unhandled_exceptions_only"]},
        "django.server": {"level": "ERROR"},
        # A wrong Host header (scanners send thousands) would log a traceback each; the
        # request's own line above already records it, as a 400.
        "django.security.DisallowedHost": {"level": "CRITICAL"},
        # The other requests Django refuses as suspicious (a 400: too many fields, a
        # forbidden admin lookup) log one warning line each, not an error with a traceback.
        **{
            f"django.security.{name}": {"filters": ["suspicious_as_warning"]}
            for name in SUSPICIOUS_REQUESTS
        },
    },
}

# -- JSON API (/api/v1/, catalogue/api/) ---------------------------------------------------
# Read-only and public: no authentication (so no sessions or CSRF), JSON only (DRF's
# browsable renderer uses inline styles the CSP forbids; /api/v1/docs/ is the human view).
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "catalogue.api.views.exception_handler",
}
SPECTACULAR_SETTINGS = {
    # Its deploy check builds the schema, whose enums read the vocabularies from the
    # database: on a server not yet migrated `check --deploy` would fail.
    # tests/test_api_schema.py builds and validates the schema instead.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    "TITLE": f"{CATALOGUE_NAME} API",
    "VERSION": "1",
    "DESCRIPTION": (
        "Read-only JSON API of the published case studies, the organisations involved in "
        "them and the vocabularies they are tagged with.\n\n"
        "- The initiative list takes the public list's query string (`/initiatives/?...`) "
        "unchanged and returns the same initiatives in the same order, "
        f"{CATALOGUE_PAGE_SIZE} to a page.\n"
        "- A parameter value that cannot be used is a 400 naming it: "
        '`{"detail": "...", "errors": {"year_from": ["Enter a whole number."]}}`. '
        "A page past the last is a 404 of the same shape. Unknown parameters are ignored.\n"
        "- Only GET, HEAD and OPTIONS; other methods are 405.\n"
        "- Every object has `html_url` (its public page) and `api_url` (its resource here)."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No deep links: Swagger UI puts each one, a small link, inside the button that opens its
    # operation, where assistive technology cannot reliably reach or announce it (axe rules
    # nested-interactive and target-size; tests/browser/test_accessibility.py).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
}
