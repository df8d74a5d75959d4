"""Django settings for Frontline.

Everything that differs between the demo, a test run and production comes from environment
variables read through `frontline.env`; the demo needs none of them.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from frontline.env import (
    ConfigurationError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    kept_secret,
    new_data_key,
    new_secret_key,
)

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(env_str("FRONTLINE_HOME", str(PACKAGE_DIR.parent.parent))).resolve()
VAR_DIR = Path(env_str("FRONTLINE_VAR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = kept_secret("SECRET_KEY", VAR_DIR / "secret_key", generate=new_secret_key)
# AES-GCM key for personal data at rest (ID numbers, phones, health, disability, children).
FRONTLINE_DATA_KEY = kept_secret("FRONTLINE_DATA_KEY", VAR_DIR / "data_key", generate=new_data_key)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "auditlog",
    "huey.contrib.djhuey",
    "ninja",  # serves the OpenAPI page (Swagger UI) from local static files, not a CDN
    "frontline.core",
    "frontline.hazards",
    "frontline.monitoring",
    "frontline.community",
    "frontline.resources",
]

MIDDLEWARE = [
    "frontline.core.middleware.RequestIdMiddleware",
    "frontline.core.middleware.ApiErrorShapeMiddleware",
    "frontline.core.middleware.RejectNulMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "frontline.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "frontline.core.middleware.BearerTokenMiddleware",
    "frontline.core.middleware.FocusRegionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "frontline.urls"
ASGI_APPLICATION = "frontline.asgi.application"
WSGI_APPLICATION = "frontline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontline.core.context_processors.shell",
            ],
        },
    },
]


def _database(url: str) -> dict:
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
    except ValueError as exc:
        raise ConfigurationError(f"DATABASE_URL is not a valid database URL: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server read while the worker writes; IMMEDIATE avoids the
        # "database is locked" upgrade failure when two writers start a transaction.
        config["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=5000;PRAGMA foreign_keys=ON;PRAGMA cache_size=-65536;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
        config["TEST"] = {"NAME": None}
    return config


VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)
DATABASES = {
    "default": _database(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'frontline.sqlite3'}"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=300)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# django-axes: lock a username + address pair after repeated wrong passwords.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "frontline.core.views.account.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
NODE_MODULES = Path(env_str("FRONTLINE_NODE_MODULES", str(BASE_DIR / "node_modules")))
STATICFILES_DIRS = [
    PACKAGE_DIR / "static",
    ("vendor/leaflet", NODE_MODULES / "leaflet" / "dist"),
    ("vendor/markercluster", NODE_MODULES / "leaflet.markercluster" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
# Serve straight from the finders so the demo needs no collectstatic; production runs
# collectstatic (see docs/production.md) and WhiteNoise serves the compressed copies.
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"

AUDITLOG_INCLUDE_ALL_MODELS = True
AUDITLOG_EXCLUDE_TRACKING_MODELS = (
    "sessions",
    "admin",
    "axes",
    "contenttypes",
    "auth.permission",
    "core.sensitiveaccess",
    "core.apitoken",
    "core.notification",
    # Monitoring keeps its own history: observations are the readings, and every change
    # of an alarm is an AlarmEvent with actor and request id. Auditing them again would
    # double the writes of an alarm storm. Devices and rules stay audited.
    "monitoring.observation",
    "monitoring.latestvalue",
    "monitoring.alarm",
    "monitoring.alarmevent",
)
AUDITLOG_EXCLUDE_TRACKING_FIELDS = ("password", "last_login", "token_hash", "last_used_at")
AUDITLOG_CID_GETTER = "frontline.core.request_id.current_request_id"
AUDITLOG_STORE_JSON_CHANGES = True

# Background worker: Huey on SQLite under var/ (zero configuration) or on Redis.
REDIS_URL = env_str("REDIS_URL", "")
HUEY = {
    "huey_class": "huey.RedisHuey" if REDIS_URL else "huey.SqliteHuey",
    "name": env_str("HUEY_QUEUE", "frontline"),
    "immediate": env_bool("HUEY_IMMEDIATE", False),
    "utc": True,
    "consumer": {"workers": env_int("WORKER_THREADS", 2, minimum=1), "worker_type": "thread"},
}
if REDIS_URL:
    HUEY["url"] = REDIS_URL
else:
    HUEY["filename"] = str(VAR_DIR / "huey.sqlite3")

# The cache holds counters that must be shared by every web process (the field-report rate
# limit): Redis when there is one, otherwise the memory of the one web process of the demo.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("HUEY_QUEUE", "frontline"),
        }
    }

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "frontline.core.request_id.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Notifications. Quiet hours hold back non-urgent SMS only ("22:00-07:00"; empty = none).
NOTIFY_QUIET_HOURS = env_str("NOTIFY_QUIET_HOURS", "")
NOTIFY_HTTP_TIMEOUT = env_int("NOTIFY_HTTP_TIMEOUT", 10, minimum=1)
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TEMPLATE = env_str("SMS_GATEWAY_TEMPLATE", "")
SMS_GATEWAY_TOKEN = env_str("SMS_GATEWAY_TOKEN", "")
SMS_SIGNATURE = env_str("SMS_SIGNATURE", "【基层应急】")
FRONTLINE_BASE_URL = env_str("FRONTLINE_BASE_URL", "")
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "frontline@localhost")

# Supervised tasks (督办): minutes to acknowledge, reminder before the deadline, and the
# interval of reminders / escalations while a task is overdue.
FRONTLINE_TASK_RESPOND_MINUTES = env_int("TASK_RESPOND_MINUTES", 60, minimum=1)
FRONTLINE_TASK_LEAD_MINUTES = env_int("TASK_LEAD_MINUTES", 60, minimum=1)
FRONTLINE_TASK_REMIND_MINUTES = env_int("TASK_REMIND_MINUTES", 60, minimum=1)

# Patrols: a GPS check-in whose accuracy is worse than this many metres is flagged.
PATROL_MAX_ACCURACY_M = env_int("PATROL_MAX_ACCURACY_M", 50, minimum=5)

# Map: base tiles ("none" draws boundaries on a plain background, for intranets).
MAP_TILES = env_choice("MAP_TILES", "none", {"none", "osm", "tianditu", "amap"})
TIANDITU_KEY = env_str("TIANDITU_KEY", "")
MAP_TILE_URL = env_str("MAP_TILE_URL", "")
MAP_MAX_FEATURES = env_int("MAP_MAX_FEATURES", 5000, minimum=100)

# Attachments.
FRONTLINE_UPLOAD_MAX_MB = env_int("UPLOAD_MAX_MB", 20, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# GB/T 26875.3 gateway: the TCP door for fire alarm transmission devices (用户信息传输装置).
# A connection silent for GB26875_IDLE_SECONDS is closed; devices reconnect on their own.
GB26875_HOST = env_str("GB26875_HOST", "0.0.0.0")
GB26875_PORT = env_int("GB26875_PORT", 9026, minimum=0)
GB26875_IDLE_SECONDS = env_int("GB26875_IDLE_SECONDS", 180, minimum=1)

# MQTT ingest (`frontline mqtt-ingest`, docs/mqtt.md). The client id names the persistent
# session on the broker: each process of a shared subscription needs its own.
MQTT_URL = env_str("MQTT_URL", "mqtt://127.0.0.1:1883")
MQTT_CLIENT_ID = env_str("MQTT_CLIENT_ID", "frontline-ingest")
MQTT_TOPIC_PREFIX = env_str("MQTT_TOPIC_PREFIX", "frontline")
MQTT_BATCH_SIZE = env_int("MQTT_BATCH_SIZE", 2000, minimum=1)
MQTT_BATCH_MS = env_int("MQTT_BATCH_MS", 50, minimum=1)
