"""Settings for the CRM, read from the environment with django-environ.

Every variable has an embedded default that brings the app up on a laptop
(the embedded PostgreSQL of `make run`, a filesystem Celery broker, console
email), except SECRET_KEY, which is required once DEBUG is off. A missing or malformed variable stops start-up
with one line naming it and what it expects.
"""

import datetime
import os
import sys
import warnings
import zoneinfo
from pathlib import Path

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file beside manage.py is optional; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# This machine's scratch files (the development broker and database, beat's schedule). Nothing a web
# request needs lives here: imports wait in the database, sessions and the cache are shared.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))


class ConfigurationError(SystemExit):
    """Stop start-up with a one-line message instead of a traceback."""

    def __init__(self, name: str, expects: str) -> None:
        message = f"Configuration error: {name} {expects}."
        print(message, file=sys.stderr)
        super().__init__(2)
        self.message = message


def setting(name, expects, read):
    """Read one variable with `read`, turning any failure into a one-line error."""
    try:
        with warnings.catch_warnings():
            # django-environ warns about what it cannot parse; we say it in one line instead.
            warnings.simplefilter("ignore")
            return read()
    except (ImproperlyConfigured, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(name, expects) from exc


def _percent(value: int) -> int:
    if not 0 <= value <= 50:
        raise ValueError(value)
    return value


def strict_bool(name: str, default: bool) -> bool:
    """Read a true/false variable, refusing anything that is neither."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise ConfigurationError(name, f"must be true or false, got {raw!r}")


DEBUG = strict_bool("DEBUG", default=True)

if "SECRET_KEY" in env.ENVIRON:
    SECRET_KEY = env.str("SECRET_KEY")
    if len(SECRET_KEY) < 50 and not DEBUG:
        raise ConfigurationError("SECRET_KEY", "must be at least 50 random characters when DEBUG is off")
elif DEBUG:
    SECRET_KEY = "django-insecure-dev-only-key-for-local-runs-never-in-production-0123456789"  # noqa: S105
else:
    raise ConfigurationError("SECRET_KEY", "is required when DEBUG is off (50+ random characters)")
# Rotating SECRET_KEY: the old key goes here (comma-separated, newest first). Sessions, signed links and the
# do-not-send list's hashes made under it keep working (README: "Rotating SECRET_KEY").
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# Fernet keys for text encrypted at rest (crm/kernel/encryption.py), newest first;
# README: "Rotating the encryption key".
from crm.kernel.encryption import development_key, parse_keys  # noqa: E402 - needs nothing from Django settings

if "FIELD_ENCRYPTION_KEYS" in env.ENVIRON:
    FIELD_ENCRYPTION_KEYS = setting(
        "FIELD_ENCRYPTION_KEYS",
        "must be comma-separated Fernet keys (32 url-safe base64-encoded bytes each), newest first",
        lambda: parse_keys(env.str("FIELD_ENCRYPTION_KEYS")),
    )
elif DEBUG:
    # Development only: a key derived from SECRET_KEY, so a laptop's notes stay readable from run to run.
    FIELD_ENCRYPTION_KEYS = [development_key(SECRET_KEY)]
else:
    raise ConfigurationError("FIELD_ENCRYPTION_KEYS", "is required when DEBUG is off (comma-separated Fernet keys)")

# benchmarks/http_load.py only: serves the bare "floor" view (/bench/floor/<pk>/) the pages are measured
# against. Off everywhere else: the URL does not exist unless this is on.
BENCHMARK_VIEWS = strict_bool("BENCHMARK_VIEWS", default=False)

ALLOWED_HOSTS = setting(
    "ALLOWED_HOSTS",
    "must be a comma-separated list of host names",
    lambda: env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"]),
)
CSRF_TRUSTED_ORIGINS = setting(
    "CSRF_TRUSTED_ORIGINS",
    "must be a comma-separated list of origins such as https://crm.example.com",
    lambda: env.list("CSRF_TRUSTED_ORIGINS", default=[]),
)
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ConfigurationError("CSRF_TRUSTED_ORIGINS", f"must list origins with a scheme, got {_origin!r}")

BUSINESS_NAME = env.str("BUSINESS_NAME", default="Clearview Optics")
BUSINESS_TIMEZONE = env.str("BUSINESS_TIMEZONE", default="America/New_York")
if BUSINESS_TIMEZONE not in zoneinfo.available_timezones():
    raise ConfigurationError(
        "BUSINESS_TIMEZONE", f"must be an IANA time zone such as Europe/London, got {BUSINESS_TIMEZONE!r}"
    )
BUSINESS_CURRENCY = env.str("BUSINESS_CURRENCY", default="USD")
if len(BUSINESS_CURRENCY) != 3 or not BUSINESS_CURRENCY.isalpha():
    raise ConfigurationError(
        "BUSINESS_CURRENCY", f"must be a three-letter ISO 4217 code such as USD, got {BUSINESS_CURRENCY!r}"
    )
BUSINESS_CURRENCY = BUSINESS_CURRENCY.upper()
# Phone numbers written without a country code are read as numbers of this region.
BUSINESS_PHONE_REGION = env.str("BUSINESS_PHONE_REGION", default="US").upper()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "simple_history",
    "auditlog",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    # The house's floors (README "Layout"; pyproject.toml's import-linter contract checks the arrows).
    "crm.kernel",  # label "crm"
    "customers",
    "journeys",
    "microcx",
    "outreach",
    "crm.inbox",
    "crm.insights",
    "crm.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "crm.kernel.middleware.DatabaseUnavailableMiddleware",  # a database outage is a 503 page, not a 500
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # One MGET for the cached keys of the session's user that most pages read (crm/kernel/cache.py).
    "crm.kernel.middleware.ReadAheadMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks a session as two-factor verified; crm.kernel.security sends owners and managers who
    # have a device (or must have one) to the code page first.
    "django_otp.middleware.OTPMiddleware",
    # Ends a session after SESSION_IDLE_MINUTES without a request (shared shop computers), before it is asked a code.
    "crm.kernel.security.IdleSessionMiddleware",
    "crm.kernel.security.TwoFactorMiddleware",
    # Every page needs a login unless its view says @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Records who changed a note in its history.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Puts the signed-in user and their address on every audit entry.
    "crm.kernel.security.AuditlogMiddleware",
    # Writes one "shown sensitive notes" audit entry per customer per page view (crm/kernel/confidences.py).
    "crm.kernel.confidences.ConfidenceAuditMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
ASGI_APPLICATION = "crm.asgi.application"

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
                "crm.inbox.context_processors.site",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# PostgreSQL only. Unset, DATABASE_URL is the embedded server of `make run` (crm/embedded_db.py, under var/pgdata).
from crm.embedded_db import database_url as embedded_database_url  # noqa: E402 - imports nothing from Django

DATABASES = {
    "default": setting(
        "DATABASE_URL",
        "must be a PostgreSQL URL such as postgres://user:password@127.0.0.1:5432/crm",
        lambda: env.db_url("DATABASE_URL", default=embedded_database_url()),
    )
}
if DATABASES["default"].get("ENGINE") != "django.db.backends.postgresql":
    raise ConfigurationError("DATABASE_URL", "must be a PostgreSQL URL (postgres://...)")
# A failing request rolls back whole: nothing is half-saved.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# Production keeps each process's connection open between requests (gunicorn's sync workers serve one
# request at a time, so one persistent connection each is the whole pool, and no pool package is needed);
# it is checked before reuse, so after a database restart the app reconnects by itself.
DATABASES["default"].setdefault("CONN_MAX_AGE", 0 if DEBUG else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "crm.User"
# Argon2 first: new and changed passwords use it; older hashes are upgraded at the next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # django-axes counts failed logins and refuses locked-out ones before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Answers has_perm and the role from the shared cache (crm/kernel/permissions.py); authenticates nobody.
    "crm.kernel.permissions.SharedPermissionCache",
    # Django's ModelBackend, with each request's user row read from the shared cache (the same module).
    "crm.kernel.permissions.StaffModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection (django-axes): after AXES_FAILURE_LIMIT failed logins for one user name
# from one address, that pair is locked out for LOGIN_COOLOFF_MINUTES, or until an owner unlocks it
# (Security page). Pairing name and address keeps one shop's shared address from locking everyone out.
AXES_FAILURE_LIMIT = setting(
    "LOGIN_FAILURE_LIMIT", "must be a whole number", lambda: env.int("LOGIN_FAILURE_LIMIT", default=5)
)
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=setting(
        "LOGIN_COOLOFF_MINUTES", "must be a number of minutes", lambda: env.int("LOGIN_COOLOFF_MINUTES", default=15)
    )
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Behind a proxy, X-Forwarded-For names the client (only with TRUST_PROXY_HEADERS on).
TRUST_PROXY_HEADERS = strict_bool("TRUST_PROXY_HEADERS", default=False)
AXES_CLIENT_IP_CALLABLE = "crm.kernel.security.client_ip"

# Sessions end after SESSION_IDLE_MINUTES without a request, and when the browser closes:
# shop computers are shared.
SESSION_IDLE_MINUTES = setting(
    "SESSION_IDLE_MINUTES", "must be a whole number of minutes", lambda: env.int("SESSION_IDLE_MINUTES", default=30)
)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# The shared cache (business settings, the security policy, whether an owner exists): every web process
# and worker sees one cache, so a change made through one machine is seen by all at once. CACHE_URL
# redis://host:6379/1 in production (clearing it removes only its own keys, but a database of its own is tidier);
# without it, REDIS_URL if set (tests), else a table in PostgreSQL (crm_cache, made by a migration).
_cache_url = env.str("CACHE_URL", default="") or env.str("REDIS_URL", default="") or "db://"
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "crm.kernel.cache.SharedRedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "crm-cache",
            "TIMEOUT": 300,
            # A Redis that is down costs a page half a second at most (then a miss: crm/kernel/cache.py).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
elif _cache_url == "db://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "crm_cache"}}
else:
    raise ConfigurationError("CACHE_URL", "must be redis://host:port/db or db:// (a table in PostgreSQL)")

# Sessions live in PostgreSQL, so any web machine behind the load balancer serves any request. With Redis as the
# shared cache every request reads its session from there (cached_db: written to both, read from PostgreSQL only
# on a miss or while Redis is unreachable); the idle timeout does not rely on either's expiry
# (crm.kernel.security.IdleSessionMiddleware).
if CACHES["default"]["BACKEND"] == "crm.kernel.cache.SharedRedisCache":
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    SESSION_ENGINE = "django.contrib.sessions.backends.db"  # a cache in PostgreSQL would only add a query

# Two-factor (django-otp, TOTP): optional for managers and owners; owners must use it once
# the business turns it on (Security page).


def _totp_issuer(device) -> str:
    """Name the business in authenticator apps as an owner has named it (crm.kernel.business, read at set-up)."""
    from crm.kernel import business

    return business.current().name + " CRM"


OTP_TOTP_ISSUER = _totp_issuer

# Audit trail (django-auditlog): who changed what, and who read sensitive notes.
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = BUSINESS_TIMEZONE
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Third-party assets come from npm (package.json) and are served from our own
# host under /static/vendor/..., never from a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
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
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
# Receipts (the only files kept) go to object storage when MEDIA_BUCKET names a bucket (django-storages'
# S3 backend, for AWS S3 or any S3-compatible store: MEDIA_ENDPOINT_URL, MEDIA_REGION; the credentials
# come from boto3's usual AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). Needed with more than one web
# machine; without it they stay under MEDIA_ROOT on this machine. The bucket stays private: a receipt is
# still sent only through the app's download view, never by a public link.
MEDIA_BUCKET = env.str("MEDIA_BUCKET", default="")
if MEDIA_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_BUCKET,
            "endpoint_url": env.str("MEDIA_ENDPOINT_URL", default="") or None,
            "region_name": env.str("MEDIA_REGION", default="") or None,
            "location": "media",
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
# Uploads (crm/kernel/uploads.py). A CSV import over UPLOAD_MAX_BYTES is refused by its form with a message; a
# request far larger is refused (400) before it is read to disk. Receipts: 5 MB at most. Nothing under
# MEDIA_ROOT is served by a URL: a receipt is sent back only as a download, to staff who may see its gesture.
UPLOAD_MAX_BYTES = setting(
    "UPLOAD_MAX_BYTES",
    "must be a whole number of bytes, such as 10485760 for 10 MB",
    lambda: env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024),
)
FILE_UPLOAD_HANDLERS = [
    "crm.kernel.uploads.RequestSizeLimit",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# An import of more rows than this is checked and imported by a Celery task, with a progress page
# (crm/kernel/import_jobs.py); smaller files are checked and imported within the request.
IMPORT_BACKGROUND_ROWS = setting(
    "IMPORT_BACKGROUND_ROWS",
    "must be a whole number of rows",
    lambda: env.int("IMPORT_BACKGROUND_ROWS", default=2000),
)
# After an import of this many rows or more, a task renews the statistics of the tables it filled and merges
# their search indexes' pending entries (crm.kernel.bulk.tidy), in case autovacuum lags or is off.
IMPORT_TIDY_AFTER_ROWS = setting(
    "IMPORT_TIDY_AFTER_ROWS",
    "must be a whole number of rows",
    lambda: env.int("IMPORT_TIDY_AFTER_ROWS", default=10_000),
)
# Form fields other than files: 2.5 MB (Django's default) is far more than any form of ours sends.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 5

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: console by default; smtp+tls://user:pass@host:587 in production.
_email = setting(
    "EMAIL_URL",
    "must be an email URL such as consolemail:// or smtp+tls://user:password@host:587",
    lambda: env.email_url("EMAIL_URL", default="consolemail://"),
)
globals().update({key: value for key, value in _email.items() if key.startswith("EMAIL_")})
# Or a provider's API through django-anymail: EMAIL_PROVIDER=mailgun (postmark, amazon_ses, sendgrid,
# brevo...) with its settings as ANYMAIL_<SETTING> variables, e.g. ANYMAIL_MAILGUN_API_KEY.
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="").strip()
if EMAIL_PROVIDER:
    if not EMAIL_PROVIDER.replace("_", "").isalnum():
        raise ConfigurationError("EMAIL_PROVIDER", "must name an anymail backend such as mailgun or postmark")
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
    ANYMAIL = {key.removeprefix("ANYMAIL_"): value for key, value in os.environ.items() if key.startswith("ANYMAIL_")}
# Seconds a newly queued customer email waits before the sweep sends it in case queueing its task failed
# (Redis down): the task queued on commit normally sends it well before.
OUTREACH_SWEEP_GRACE_SECONDS = env.int("OUTREACH_SWEEP_GRACE_SECONDS", default=120)
# Where links in emails point.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{BUSINESS_NAME} CRM <crm@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: the filesystem transport needs no server, so the worker and beat
# really run on a laptop; set CELERY_BROKER_URL=redis://... in production.
CELERY_BROKER_URL = setting(
    "CELERY_BROKER_URL",
    "must be a broker URL such as redis://127.0.0.1:6379/0 or filesystem://",
    lambda: env.str("CELERY_BROKER_URL", default="filesystem://"),
)
if not CELERY_BROKER_URL.startswith(("filesystem://", "redis://", "rediss://", "memory://", "amqp://")):
    raise ConfigurationError("CELERY_BROKER_URL", "must start with redis://, rediss://, amqp:// or filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Its exchange files too (by default a "control" folder wherever the process was started).
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = BUSINESS_TIMEZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Makes the schedule file's folder first: beat never depends on var/ existing.
CELERY_BEAT_SCHEDULER = "crm.celery:BeatScheduler"
# How often beat runs the reminder and digest sweeps (crm/celery.py holds the schedule).
REMINDER_SWEEP_SECONDS = setting(
    "REMINDER_SWEEP_SECONDS",
    "must be a number of seconds",
    lambda: env.float("REMINDER_SWEEP_SECONDS", default=300.0),
)
# How many due rows one raise task handles.
REMINDER_BATCH_SIZE = setting(
    "REMINDER_BATCH_SIZE", "must be a whole number", lambda: env.int("REMINDER_BATCH_SIZE", default=500)
)
# The share of customers (0-50 %, stable per customer and rule) that rule-driven prompts leave out, so the
# loyalty dashboard can measure what the birthday and win-back prompts really change (crm/kernel/holdout.py).
HOLD_OUT_PERCENT = setting(
    "HOLD_OUT_PERCENT", "must be a whole number from 0 to 50", lambda: _percent(env.int("HOLD_OUT_PERCENT", default=10))
)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task whose worker died is delivered again after this long (it is idempotent).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": setting(
            "CELERY_VISIBILITY_TIMEOUT",
            "must be a number of seconds",
            lambda: env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        )
    }

# Security: strict once DEBUG is off (manage.py check --deploy passes).
SECURE_SSL_REDIRECT = strict_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = setting(
    "SECURE_HSTS_SECONDS",
    "must be a whole number of seconds",
    lambda: env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000),
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
# X-Forwarded-Proto says "this came in over HTTPS" only when a proxy we trust set it; anyone can send it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_PROXY_HEADERS else None
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts and styles only from our own host, no inline
# script or style, no eval; a page that must inline a script gives it {{ request.csp_nonce }}.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs every login at INFO; lockouts (WARNING) are what matter.
    "loggers": {"axes": {"level": "WARNING"}},
}
