"""Settings for the directory: one file, driven by environment variables.

Every variable is listed in README.md. With none set, the project runs on a fresh clone with SQLite,
DEBUG off, and a development-only secret key that production mode refuses.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

# A key is only invented for local development. Without one in production mode the key stays empty:
# commands that sign nothing (migrate, makemigrations, check) still run, Django refuses anything that
# signs, and the web entry points (directory/startup.py) refuse to start.
_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "") or (_DEV_SECRET_KEY if DEBUG else "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "rest_framework",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "csp",
    "resources",
    "partners",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The admin and partner pages allow same-origin referrers, without which browsers fail their CSRF check.
    "partners.middleware.SameOriginReferrerForForms",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise, which answers static files itself (they keep their long cache lifetimes).
    "resources.middleware.NoStore",
    "csp.middleware.CSPMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language comes from the URL alone (/es/, /fr/; English unprefixed): see directory/urls.py.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Lets the change history (django-simple-history) record which signed-in curator made an admin edit.
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "directory.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "resources.context_processors.safety",
            ],
        },
    },
]

WSGI_APPLICATION = "directory.wsgi.application"

# SQLite by default (no setup); DATABASE_URL=postgres://user@host:5432/name for PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Connections are kept (CONN_MAX_AGE, as on PostgreSQL): a new SQLite connection parses the whole schema
    # (tables, triggers, the full-text index) and starts with an empty page cache, which cost a search page
    # more than its own queries. mmap lets reads share the operating system's cache instead of copying pages:
    # up to 2 GiB of the file (SQLite's own ceiling; it is address space, not memory). 256 MiB left most of the
    # search index of 100,000 services outside, read a page at a time: 26 ms instead of 16 to read the keys
    # of 2,000 results.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA foreign_keys=ON; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=2147418112;"
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles a query whose estimated cost is high, which our distance and facet queries
    # reach; compiling took 1.5 s where running took 40 ms (benchmark, 10,000 services). Off for our sessions.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The public pages in English (at /), Spanish (/es/) and French (/fr/), each named in its own language for
# the language switcher. The language is read from the URL only: never from a cookie or Accept-Language, so
# a link shared or bookmarked on a shared phone always opens in the same language and nothing is stored.
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Stored times are UTC; "open now" uses each schedule's own timezone.
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Without collectstatic (development, tests) WhiteNoise serves straight from the apps' static folders.
WHITENOISE_USE_FINDERS = DEBUG or not (STATIC_ROOT / "staticfiles.json").exists()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not WHITENOISE_USE_FINDERS
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Security headers; HTTPS-only settings switch on outside DEBUG unless told otherwise.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_HTTPS = env_bool("SECURE_HTTPS", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
if env_bool("BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp): everything from this site, nothing inline, no plugins, no framing.
# Scripts and styles are static files; "unsafe-inline" appears nowhere (tests/test_safety.py says so).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# Quick exit ("Leave this site", resources/static/resources/safety.js): where it sends a person. A neutral,
# common page, so the tab shows nothing that stands out. The link works without JavaScript too.
QUICK_EXIT_URL = os.environ.get("QUICK_EXIT_URL", "https://www.google.com/search?q=weather")

# The HSDS API (resources/api/): public, read-only, JSON only, no sessions or cookies. "format" is an HSDS
# query parameter (format=ndjson), so DRF must not read it as a renderer override.
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Any web page may read the API from a browser (django-cors-headers): it is public and read-only, and a
# cross-site request carries no cookie or credential we would honour.
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_HEADERS = ["accept", "accept-language", "if-none-match", "if-modified-since"]
CORS_PREFLIGHT_MAX_AGE = 86400

SPECTACULAR_SETTINGS = {
    "TITLE": "Survivor support directory: HSDS 3.0 API",
    "DESCRIPTION": (
        "Read-only Open Referral HSDS 3.0 API of a directory of help for people affected by human trafficking. "
        "Only published listings appear, and confidential places never show their address. Documents follow "
        "HSDS 3.0 with the extra properties of our profile (see /api/profile/)."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    # Paths as the HSDS API names them ("/services"), under the server "/api".
    "SERVERS": [{"url": "/api"}],
    "SCHEMA_PATH_PREFIX": "/api",
    "SCHEMA_PATH_PREFIX_TRIM": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["resources.api.schema.add_hsds_components"],
    # The documentation page loads its scripts and styles from us, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Change history (resources/history.py). Reverting from a history page is off: it would bypass the review
# functions and could restore a confidential place's address blanked in history. The history tables are
# looked up by object, never by date, so the date index would only slow down imports.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_DATE_INDEX = False

# Freshness (resources/freshness.py): days since a listing was last verified (or else published) after
# which its partners are reminded, it is labelled "not verified since", and it leaves the public directory.
FRESHNESS_REMIND_AFTER_DAYS = int(os.environ.get("FRESHNESS_REMIND_AFTER_DAYS", "335"))
FRESHNESS_STALE_AFTER_DAYS = int(os.environ.get("FRESHNESS_STALE_AFTER_DAYS", "365"))
FRESHNESS_HIDE_AFTER_DAYS = int(os.environ.get("FRESHNESS_HIDE_AFTER_DAYS", "548"))
# A partner who was reminded and has not acted is reminded again after this many days.
FRESHNESS_REMIND_EVERY_DAYS = max(1, int(os.environ.get("FRESHNESS_REMIND_EVERY_DAYS", "30")))
# Where a reminder sends partners to confirm or update their listings (default: the partner pages).
FRESHNESS_CONFIRM_URL = os.environ.get("FRESHNESS_CONFIRM_URL", "")

# Links in emails are absolute: the site's public address.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
# Email: printed to the console with DEBUG, else sent by SMTP (EMAIL_BACKEND overrides either).
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")

# Cache: Redis when REDIS_URL is set (shared by every app server: the partner forms' rate limits count there),
# else this process's memory. Django's own Redis backend needs the `redis` package.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}
    if os.environ.get("REDIS_URL")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# django-ratelimit (used as a library, not an installed app: its checks would refuse the local memory cache that
# serves development). Behind the proxy, the client is the address the proxy appended to X-Forwarded-For.
if env_bool("BEHIND_PROXY"):
    RATELIMIT_IP_META_KEY = "partners.antispam.forwarded_client"

# Helper threads per process that read a search page's facet samples while the page reads its results
# (resources/aside.py); 0 reads everything in the request's own thread.
SEARCH_HELPER_THREADS = max(0, int(os.environ.get("SEARCH_HELPER_THREADS", "1")))
# How many results a search page shows.
RESULTS_PER_PAGE = max(1, int(os.environ.get("RESULTS_PER_PAGE", "20")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}, "discard": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # Request logs carry query strings (search terms); they are not written. A logger with no handler
    # would still print warnings (Python's last resort), hence the explicit discard.
    "loggers": {"django.server": {"handlers": ["discard"], "propagate": False}},
}
