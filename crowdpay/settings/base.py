"""Settings shared by every environment, read from the environment (django-environ).

A `.env` file at the project root is read when present. With no DATABASE_URL the service runs on
an embedded SQLite database; with no REDIS_URL Celery runs tasks in-process. Both defaults exist so
that the service starts on a bare machine; production sets both (see `production.py`).
"""

import hashlib
import warnings
from datetime import timedelta
from pathlib import Path

import environ

from crowdpay.webhooks import retries as _webhook_retries  # imports no Django: its default schedule

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-secret-key-change-me-in-production-0000")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"])

INSTALLED_APPS = [
    "crowdpay.admin_apps.StaffAdminConfig",  # django.contrib.admin, with crowdpay.auth_security
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm",
    # Staff login: throttling and lockout (axes), TOTP second factor (django_otp), see crowdpay.auth_security
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "crowdpay",
    "wallets",
    "sagas",
    "compliance",
    "crowdpay.webhooks",
    "wallets.pods.apps.PodsConfig",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "crowdpay.logging.RequestIdMiddleware",
    # Read replicas: routes a request's reads, answers CrowdPay-Read-After after a write (db_router.py).
    "crowdpay.db_router.ReplicaReadsMiddleware",
    # Under /v1/ every error is problem+json, DEBUG or not (Django's HTML error pages elsewhere).
    "crowdpay.api.problems.ProblemMiddleware",
    # Under /v1/ a request carrying a card number is refused (422) before anything reads or keeps it.
    "crowdpay.carddata.CardDataMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves /static (the Swagger UI and ReDoc bundles) from the service itself: no CDN.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified() (the TOTP second factor)
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # the admin's idle timeout (after the messages: it says why it signed someone out)
    "crowdpay.auth_security.AdminIdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # the lockout answer of a login that django-axes refused (last, as its documentation asks)
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# django-axes first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

ROOT_URLCONF = "crowdpay.urls"
WSGI_APPLICATION = "crowdpay.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A fresh clone has no var/ (git ignores it): create the embedded database's folder, or the
    # first `migrate` fails with "unable to open database file".
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE transactions take SQLite's write lock at BEGIN, so two writers queue on the busy
    # timeout instead of failing with "database is locked" half-way through a ledger write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that does not answer fails the request within seconds (503, not a hung thread).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT_SECONDS", default=5)
    )
# The write path's hand-written statements are PREPAREd once per connection (crowdpay/prepared.py).
# Turn off behind a pooler in transaction mode, where a session's prepared statements do not follow it.
DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Read replicas (crowdpay/db_router.py): streaming replicas of the primary, comma-separated URLs;
# empty = none. They become `replica_0`, `replica_1` …: wallet reads, event pages, operation polls
# and admin changelists read from one that is within REPLICA_MAX_LAG_SECONDS and has replayed the
# client's `CrowdPay-Read-After` position; every write, lock and read in a transaction stays on
# the primary. A replica's replay position is re-read at most every REPLICA_STATUS_CACHE_SECONDS.
REPLICA_DATABASE_URLS = env.list("REPLICA_DATABASE_URLS", default=[])
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5.0)
REPLICA_STATUS_CACHE_SECONDS = env.float("REPLICA_STATUS_CACHE_SECONDS", default=0.1)
for _index, _url in enumerate(REPLICA_DATABASE_URLS):
    _replica = env.db_url_config(_url)
    _replica.update(CONN_MAX_AGE=DATABASES["default"].get("CONN_MAX_AGE", 0), CONN_HEALTH_CHECKS=True)
    # A replica that does not answer is skipped after this (libpq's floor is 2 s), never waited on.
    _replica.setdefault("OPTIONS", {}).update(connect_timeout=2, application_name=f"crowdpay-replica_{_index}")
    _replica["TEST"] = {"MIRROR": "default"}  # tests with replicas configured read the test database
    DATABASES[f"replica_{_index}"] = _replica
DATABASE_ROUTERS = ["crowdpay.db_router.PrimaryReplicaRouter"] if REPLICA_DATABASE_URLS else []

# --- Celery -------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    # No broker configured: run every task in the calling process, right after commit.
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Bounded waits on the broker: a request that enqueues while Redis is down gives up within seconds
# (the saga row is the outbox; the sweeper sends it later) instead of hanging on a dead socket.
BROKER_TIMEOUT_SECONDS = env.float("BROKER_TIMEOUT_SECONDS", default=2.0)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Above the longest countdown (SAGA_RETRY_MAX_SECONDS) so a retry waiting in a live worker is not
    # delivered twice. Not how a dead worker's saga comes back: the lease and the sweeper do that
    # within seconds (sagas.services.sagas_resume_due); the message given back later is a no-op.
    "visibility_timeout": 3600,
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_timeout": max(BROKER_TIMEOUT_SECONDS, 5.0),  # above BRPOP's 1 s poll
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Queues by kind (crowdpay/queues.py: sagas, webhooks, compliance, periodic, the default `celery`)
# are set on the app in crowdpay/celery.py. Beat: one leader however many beat processes start
# (crowdpay/beat.py, RedBeat's Redis lock); a standby takes over within BEAT_LOCK_TIMEOUT_SECONDS
# of the leader's death. Its keys in Redis start with BEAT_REDIS_KEY_PREFIX.
BEAT_LOCK_TIMEOUT_SECONDS = env.int("BEAT_LOCK_TIMEOUT_SECONDS", default=30)
BEAT_REDIS_KEY_PREFIX = env.str("BEAT_REDIS_KEY_PREFIX", default="crowdpay:beat")
if REDIS_URL:
    CELERY_BEAT_SCHEDULER = "crowdpay.beat.LeaderScheduler"
    CELERY_REDBEAT_REDIS_URL = REDIS_URL
    CELERY_REDBEAT_REDIS_OPTIONS = {"socket_timeout": max(BROKER_TIMEOUT_SECONDS, 5.0)}
    CELERY_REDBEAT_KEY_PREFIX = BEAT_REDIS_KEY_PREFIX
    CELERY_REDBEAT_LOCK_TIMEOUT = BEAT_LOCK_TIMEOUT_SECONDS
    # the leader ticks (and extends its lock) at least this often, well inside the lock's timeout
    CELERY_BEAT_MAX_LOOP_INTERVAL = max(1, min(5, BEAT_LOCK_TIMEOUT_SECONDS // 3))
CELERY_BEAT_SCHEDULE: dict = {
    # the saga sweeper: re-enqueue any running saga whose lease or backoff ran out
    "sagas-resume-due": {
        "task": "sagas.tasks.sagas_resume_due",
        "schedule": env.float("SAGA_SWEEP_SECONDS", default=5.0),
    },
}

# --- Service configuration (the documented environment table) -----------------------------------
JWT_PUBLIC_KEY = env.str("JWT_PUBLIC_KEY", default="", multiline=True)
JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", default="", multiline=True)  # only issue_token uses it
JWT_KEY_DIR = Path(env.str("JWT_KEY_DIR", default=str(VAR_DIR / "keys")))
JWT_ISSUER = env.str("JWT_ISSUER", default="")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="")
RISK_SERVICE_ENDPOINT = env.str("RISK_SERVICE_ENDPOINT", default="")
FX_SERVICE_ENDPOINT = env.str("FX_SERVICE_ENDPOINT", default="")
# How long an FX quote (`POST /v1/wallets/{id}/quotes`) may be converted after it was made.
FX_QUOTE_TTL_SECONDS = env.int("FX_QUOTE_TTL_SECONDS", default=30)
SETTLEMENT_SERVICE_ENDPOINT = env.str("SETTLEMENT_SERVICE_ENDPOINT", default="")
GATEWAY_TIMEOUT_SECONDS = env.float("GATEWAY_TIMEOUT_SECONDS", default=5.0)
# Funding (sagas/gateways/funding.py): the card provider that confirms charges. Unset: the built-in
# sandbox (documented test tokens, charges nothing); production settings refuse to start with it.
FUNDING_SERVICE_ENDPOINT = env.str("FUNDING_SERVICE_ENDPOINT", default="")
# The provider's name in the charge claims (one use per provider and charge); default its host.
FUNDING_PROVIDER_NAME = env.str("FUNDING_PROVIDER_NAME", default="")
# Tries of one provider call on a transient failure before the saga's own backoff takes over.
FUNDING_HTTP_TRIES = env.int("FUNDING_HTTP_TRIES", default=3)
# How long a funding waits for a pending charge to be captured (webhook or poll) before it refunds
# and fails (`charge_not_captured`), and how often it asks the provider again meanwhile.
FUNDING_CONFIRM_TIMEOUT_SECONDS = env.float("FUNDING_CONFIRM_TIMEOUT_SECONDS", default=600.0)
FUNDING_CONFIRM_POLL_SECONDS = env.float("FUNDING_CONFIRM_POLL_SECONDS", default=10.0)
# `POST /v1/hooks/funding`: webhook-timestamp older or newer than this is refused (replay window).
FUNDING_WEBHOOK_TOLERANCE_SECONDS = env.int("FUNDING_WEBHOOK_TOLERANCE_SECONDS", default=300)
# The sandbox's `ch_test_late_…` charges are captured (by its own signed webhook) after this long.
FUNDING_SANDBOX_CAPTURE_DELAY_SECONDS = env.float("FUNDING_SANDBOX_CAPTURE_DELAY_SECONDS", default=2.0)
# Sagas: tries of a step on transient gateway errors before compensating; backoff (exponential,
# jittered) between tries; the lease after which the sweeper re-enqueues a saga that stopped moving.
SAGA_MAX_ATTEMPTS = env.int("SAGA_MAX_ATTEMPTS", default=5)
SAGA_RETRY_BASE_SECONDS = env.float("SAGA_RETRY_BASE_SECONDS", default=2.0)
SAGA_RETRY_MAX_SECONDS = env.float("SAGA_RETRY_MAX_SECONDS", default=300.0)
# A running step's lease is renewed while it runs (every half lease), so a dead worker's saga is due
# within one lease and sent by the next sweep. Worst case from kill -9 to the resend, with a live
# worker: SAGA_WORKER_ALIVE_SECONDS + SAGA_LEASE_SECONDS + SAGA_SWEEP_SECONDS = 10 + 20 + 5 = 35 s.
SAGA_LEASE_SECONDS = env.float("SAGA_LEASE_SECONDS", default=20.0)
SAGA_PAYOUT_POLL_SECONDS = env.float("SAGA_PAYOUT_POLL_SECONDS", default=60.0)
# A worker's key in the cache lives this long (renewed every third of it): a saga message it took
# stops holding the sweeper back this long after the worker died.
SAGA_WORKER_ALIVE_SECONDS = env.float("SAGA_WORKER_ALIVE_SECONDS", default=10.0)
# How long the sweeper trusts a saga's queued mark (beyond its countdown) when it cannot prove it
# stale (the queue or the worker keys unreadable): a bound, not the recovery path. Unset: 600 s.
SAGA_QUEUED_MARK_SECONDS = env.float("SAGA_QUEUED_MARK_SECONDS", default=None)
# The 24 h outflow limit per wallet, in minor units of VELOCITY_BASE_CURRENCY (every outflow is
# converted to it with the FX rates table before it counts: wallets.fx.to_base).
WALLET_DEFAULT_LIMIT = env.int("WALLET_DEFAULT_LIMIT", default=10000_00)
# The currency the 24 h outflow is counted and limited in: each outflow is converted with the FX
# rates before the lock, and the executor checks the wallet's limit under the lock (wallets.plan).
VELOCITY_BASE_CURRENCY = env.str("VELOCITY_BASE_CURRENCY", default="USD")
# A ledger transaction rolled back on a deadlock or serialization failure runs again this many times
# (wallets.ledger.retrying). A backstop: the lock order keeps deadlocks out; 0 turns it off.
LEDGER_DEADLOCK_RETRIES = env.int("LEDGER_DEADLOCK_RETRIES", default=3)
# Refuse any single amount above this many minor units (a sanity bound, not a business limit).
MAX_AMOUNT_MINOR = env.int("MAX_AMOUNT_MINOR", default=10**15)


def _dev_key(label: str) -> str:
    return hashlib.sha256(f"{label}:{SECRET_KEY}".encode()).hexdigest()


# "id:secret,id:secret"; the last entry signs new events, every entry still verifies old ones.
EVENT_HMAC_KEYS = env.str("EVENT_HMAC_KEYS", default=f"dev1:{_dev_key('event-hmac')}")
# Chain seals (wallets.sealing): how often the beat task certifies the wallets' new heads, and how old
# an unsealed tail may grow before verify_events reports it as tampering (seals deleted, sealer down).
EVENT_SEAL_INTERVAL_SECONDS = env.float("EVENT_SEAL_INTERVAL_SECONDS", default=1.0)
EVENT_SEAL_MAX_AGE_SECONDS = env.float("EVENT_SEAL_MAX_AGE_SECONDS", default=60.0)
# Seal a movement's new heads right after it commits, in the writer (unset: when tasks run eagerly,
# i.e. no broker and so no beat, as under `make run`). The bench turns it off: it runs a sealer process.
EVENT_SEAL_AFTER_COMMIT = env.bool("EVENT_SEAL_AFTER_COMMIT", default=None)
CELERY_BEAT_SCHEDULE["wallets-seal-heads"] = {
    "task": "wallets.tasks.seal_heads",
    "schedule": EVENT_SEAL_INTERVAL_SECONDS,
    # A run older than its interval is superseded by the next one: never let a backlog of them queue up.
    "options": {"expires": max(EVENT_SEAL_INTERVAL_SECONDS * 5, 5.0)},
}
# "id:base64-32-bytes,…"; the last entry encrypts, every entry decrypts.
PII_ENCRYPTION_KEYS = env.str("PII_ENCRYPTION_KEYS", default="")
# The HMAC-SHA256 secret the funding provider signs its webhooks with (derived from SECRET_KEY in
# development, so the sandbox's own callbacks verify; production requires it with the provider).
FUNDING_WEBHOOK_SECRET = env.str("FUNDING_WEBHOOK_SECRET", default="") or _dev_key("funding-webhook")

# --- CORS ---------------------------------------------------------------------------------------
ALLOWED_ORIGINS = env.list("ALLOWED_ORIGINS", default=["*"])
if "*" in ALLOWED_ORIGINS:
    CORS_ALLOW_ALL_ORIGINS = True
else:
    CORS_ALLOWED_ORIGINS = ALLOWED_ORIGINS
CORS_ALLOW_HEADERS = ["authorization", "content-type", "idempotency-key", "x-request-id", "crowdpay-read-after"]
CORS_EXPOSE_HEADERS = ["idempotent-replayed", "x-request-id", "location", "crowdpay-read-after"]

# --- Request size ------------------------------------------------------------------------------
# No API body comes near this (metadata is capped at 16 KiB); a larger one is refused with 413
# before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=64 * 1024)

# --- Auth, i18n, static -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Without `collectstatic`, WhiteNoise finds the files in the apps (the sidecar's bundles) itself.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
if WHITENOISE_USE_FINDERS:
    # Finders serve the files, so a STATIC_ROOT never collected into is expected: don't warn.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

# --- Logging: one JSON line per record, in ECS format -------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="crowdpay-wallet")
LOGGING: dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "crowdpay.logging.ContextFilter"},
        "redact": {"()": "crowdpay.logging.RedactFilter"},
    },
    "formatters": {"ecs": {"()": "crowdpay.logging.EcsFormatter", "extra": {"service.name": SERVICE_NAME}}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "ecs", "filters": ["context", "redact"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- REST API (crowdpay/api: bearer JWT, scopes, Idempotency-Key, problem+json) -------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["crowdpay.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["crowdpay.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["crowdpay.api.throttling.CallerWriteThrottle"],
    "DEFAULT_SCHEMA_CLASS": "crowdpay.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "crowdpay.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Writes (POST) per caller; reads are not throttled. DRF's rate syntax: "<n>/<second|minute|hour|day>".
API_WRITE_THROTTLE_RATE = env.str("API_WRITE_THROTTLE_RATE", default="600/minute")
# The verifier (crowdpay.api.authentication) reads the key from crowdpay.keys and fixes RS256 here.
# Bandit (B105) takes the TOKEN_* keys for passwords. Its suppression comment inside the multi-line dict
# would cover every string in it, and bandit warns about each one it then has nothing to skip: so the
# class path is named on a line of its own, and TOKEN_TYPE_CLAIM is set after the dict.
_TOKEN_USER_CLASS = "crowdpay.api.authentication.Caller"  # noqa: S105 - a class path, not a secret  # nosec B105
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "USER_ID_CLAIM": "sub",
    "JTI_CLAIM": None,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("crowdpay.api.authentication.BearerToken",),
    "TOKEN_USER_CLASS": _TOKEN_USER_CLASS,
    "LEEWAY": env.int("JWT_LEEWAY_SECONDS", default=0),
}
SIMPLE_JWT["TOKEN_TYPE_CLAIM"] = None  # a claim name (None: no token-type claim), not a secret
# Idempotency keys live this long, then the periodic task below deletes them (Stripe keeps 24 h).
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=24 * 3600)
# A key still "in progress" after this long belongs to a request that died; a retry may take it over.
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env.int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", default=120)
# How often a long-poll (GET /v1/operations/{id}?wait=N) looks again; it backs off to 1 s.
OPERATION_POLL_INTERVAL_SECONDS = env.float("OPERATION_POLL_INTERVAL_SECONDS", default=0.1)
CELERY_BEAT_SCHEDULE["idempotency-keys-expire"] = {
    "task": "crowdpay.tasks.idempotency_keys_expire",
    "schedule": 3600.0,
}
if REDIS_URL:
    # Throttle counters must be shared by every web process.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "crowdpay",
            # passed to redis-py's pool: a dead cache fails fast (the API answers 503)
            "OPTIONS": {"socket_connect_timeout": BROKER_TIMEOUT_SECONDS, "socket_timeout": BROKER_TIMEOUT_SECONDS},
        }
    }

SPECTACULAR_SETTINGS = {
    "TITLE": "CrowdPay Connect Wallet API",
    "DESCRIPTION": (
        "Custodial multi-currency wallets. Amounts are integers in minor units. "
        "Every error is `application/problem+json` with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "WalletKindEnum": "wallets.models.Wallet.Kind",
        "WalletStatusEnum": "wallets.models.Wallet.Status",
        "OperationKindEnum": "sagas.api.serializers.OPERATION_KINDS",
        "OperationStatusEnum": "sagas.api.serializers.OPERATION_STATUSES",
        "WebhookEndpointStatusEnum": "crowdpay.webhooks.models.Endpoint.Status",
        "WebhookDeliveryStatusEnum": "crowdpay.webhooks.models.Delivery.Status",
    },
    # The event types subscribers receive (crowdpay/webhooks/schema.py): OpenAPI 3.1 webhooks, moved
    # under `x-webhooks` (ReDoc's extension) since this document is OpenAPI 3.0.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "crowdpay.webhooks.schema.as_x_webhooks",
    ],
    "WEBHOOKS": [
        f"crowdpay.webhooks.schema.{_event}"
        for _event in (
            "OPERATION_SUCCEEDED",
            "OPERATION_FAILED",
            "OPERATION_PENDING_REVIEW",
            "WALLET_FROZEN",
            "WALLET_UNFROZEN",
            "WALLET_CLOSED",
            "WALLET_BALANCE_BELOW",
            "WALLET_BALANCE_ABOVE",
            "POD_GOAL_REACHED",
            "POD_GOAL_EXPIRED",
            "POD_OUTFLOW_REQUESTED",
            "POD_OUTFLOW_APPROVED",
            "POD_OUTFLOW_REJECTED",
        )
    ],
}

# --- Compliance (see compliance/screening.py) ---------------------------------------------------
# KYC tiers: the largest single amount, in minor units, each tier may move per operation (credit =
# funding, transfer = sending, withdraw = payout). None: no bound of its own (the 24 h velocity limit
# still applies); 0: not allowed (`kyc_required`). Receiving a transfer is always allowed. An owner
# whose profile is missing, pending or in review is "unverified"; a rejected one may do nothing.
# The README's table documents the defaults.
KYC_TIER_LIMITS = {
    "unverified": {
        "credit": env.int("KYC_UNVERIFIED_CREDIT_MAX", default=1000_00),
        "transfer": env.int("KYC_UNVERIFIED_TRANSFER_MAX", default=250_00),
        "withdraw": env.int("KYC_UNVERIFIED_WITHDRAW_MAX", default=0),
    },
    "person": {
        "credit": env.int("KYC_PERSON_CREDIT_MAX", default=None),
        "transfer": env.int("KYC_PERSON_TRANSFER_MAX", default=None),
        "withdraw": env.int("KYC_PERSON_WITHDRAW_MAX", default=None),
    },
    "business": {
        "credit": env.int("KYC_BUSINESS_CREDIT_MAX", default=None),
        "transfer": env.int("KYC_BUSINESS_TRANSFER_MAX", default=None),
        "withdraw": env.int("KYC_BUSINESS_WITHDRAW_MAX", default=None),
    },
}
# The KYC provider (compliance/kyc_provider.py): REST when KYC_SERVICE_ENDPOINT is set, the built-in
# sandbox otherwise (refused by the production settings). Its callbacks (POST /v1/hooks/kyc) are
# signed with KYC_WEBHOOK_SECRET and refused when their timestamp is further than the tolerance
# from now; a check with no answer after KYC_POLL_AFTER_SECONDS is polled.
KYC_SERVICE_ENDPOINT = env.str("KYC_SERVICE_ENDPOINT", default="")
KYC_WEBHOOK_SECRET = env.str("KYC_WEBHOOK_SECRET", default="") or _dev_key("kyc-webhook")
KYC_WEBHOOK_TOLERANCE_SECONDS = env.int("KYC_WEBHOOK_TOLERANCE_SECONDS", default=300)
KYC_SERVICE_TIMEOUT_SECONDS = env.float("KYC_SERVICE_TIMEOUT_SECONDS", default=GATEWAY_TIMEOUT_SECONDS)
KYC_POLL_AFTER_SECONDS = env.int("KYC_POLL_AFTER_SECONDS", default=15 * 60)
KYC_CHECK_RESEND_SECONDS = env.int("KYC_CHECK_RESEND_SECONDS", default=60)
KYC_CHECK_MAX_ATTEMPTS = env.int("KYC_CHECK_MAX_ATTEMPTS", default=6)
KYC_CHECK_RETRY_BASE_SECONDS = env.float("KYC_CHECK_RETRY_BASE_SECONDS", default=2.0)
KYC_CHECK_RETRY_MAX_SECONDS = env.float("KYC_CHECK_RETRY_MAX_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE["compliance-kyc-checks-sweep"] = {
    "task": "compliance.tasks.kyc_checks_sweep",
    "schedule": env.float("KYC_SWEEP_SECONDS", default=60.0),
}
# Risk score thresholds (0-100): review (soft decline), decline, and decline with an automatic freeze.
RISK_REVIEW_SCORE = env.int("RISK_REVIEW_SCORE", default=50)
RISK_DECLINE_SCORE = env.int("RISK_DECLINE_SCORE", default=80)
RISK_FREEZE_SCORE = env.int("RISK_FREEZE_SCORE", default=95)
# Screening codes that freeze the wallet on the spot (the reason goes on the WalletFrozen event).
COMPLIANCE_AUTO_FREEZE_CODES = env.list("COMPLIANCE_AUTO_FREEZE_CODES", default=["risk_critical"])
RISK_SERVICE_TIMEOUT_SECONDS = env.float("RISK_SERVICE_TIMEOUT_SECONDS", default=2.0)
CELERY_BEAT_SCHEDULE["compliance-outflow-buckets-prune"] = {
    "task": "compliance.tasks.outflow_buckets_prune",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["compliance-review-cases-open-missing"] = {
    "task": "compliance.tasks.review_cases_open_missing",
    "schedule": 60.0,
}

# --- CrowdPods (wallets.pods) ---------------------------------------------------------------------
# Seconds a pod's outflow request waits for its approvals before it expires (moving nothing).
POD_OUTFLOW_TTL_SECONDS = env.int("POD_OUTFLOW_TTL_SECONDS", default=7 * 24 * 3600)
# The pods' beat jobs: goal deadlines (expire and release every pledge), missed captures, and
# pending outflows past their time.
POD_SWEEP_SECONDS = env.float("POD_SWEEP_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE["pods-goals-sweep"] = {"task": "pods.tasks.pod_goals_sweep", "schedule": POD_SWEEP_SECONDS}
CELERY_BEAT_SCHEDULE["pods-outflows-sweep"] = {"task": "pods.tasks.pod_outflows_sweep", "schedule": POD_SWEEP_SECONDS}
# Contributions are folded from each pod's stream after its payments (wallets.pods.contributions):
# this often, every pod with events past its fold is caught up, so what is left to fold stays short.
POD_CONTRIBUTIONS_SECONDS = env.float("POD_CONTRIBUTIONS_SECONDS", default=5.0)
CELERY_BEAT_SCHEDULE["pods-contributions-catch-up"] = {
    "task": "pods.tasks.pod_contributions_catch_up",
    "schedule": POD_CONTRIBUTIONS_SECONDS,
}

# --- Webhooks to subscribers (crowdpay/webhooks) ------------------------------------------------
# Retry schedule of a delivery, in seconds after the previous failure (the first entry: after the
# change is committed): about three days over ten attempts (jittered ±10 %), then the delivery is
# given up. The default and its reasons are in crowdpay/webhooks/retries.py.
WEBHOOK_RETRY_SCHEDULE = env.list("WEBHOOK_RETRY_SCHEDULE", cast=float, default=list(_webhook_retries.DEFAULT_SCHEDULE))
# An endpoint whose every attempt failed for this long is disabled (an alert in the admin).
WEBHOOK_DISABLE_AFTER_SECONDS = env.int("WEBHOOK_DISABLE_AFTER_SECONDS", default=5 * 24 * 3600)
# After a secret rotation the previous secret signs too (both signatures sent) for this long.
WEBHOOK_SECRET_OVERLAP_SECONDS = env.int("WEBHOOK_SECRET_OVERLAP_SECONDS", default=24 * 3600)
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", default=3.0)
WEBHOOK_READ_TIMEOUT_SECONDS = env.float("WEBHOOK_READ_TIMEOUT_SECONDS", default=10.0)
# At most this much of a receiver's answer is read (the first bytes are kept in the delivery log).
WEBHOOK_RESPONSE_MAX_BYTES = env.int("WEBHOOK_RESPONSE_MAX_BYTES", default=4096)
# An attempt's lease: a delivery claimed by a worker that died is tried again after this long.
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=60.0)
# SSRF rules: only https URLs that resolve to public addresses, unless these allow more (dev, tests;
# the deployed settings default both to the strict rule and production refuses to relax it).
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=True)
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=True)
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {
    "task": "crowdpay.webhooks.tasks.webhooks_sweep",
    "schedule": env.float("WEBHOOK_SWEEP_SECONDS", default=5.0),
}

# --- Officers' back-office safeguards (compliance/four_eyes.py, compliance/pii_reveal.py,
# crowdpay/auth_security.py) -------------------------------------------------------------------------
# Shortest reason an officer may give for a decision (the admin's reason forms refuse shorter ones).
OFFICER_REASON_MIN_LENGTH = env.int("OFFICER_REASON_MIN_LENGTH", default=20)
# Approving a review case above this amount (minor units of VELOCITY_BASE_CURRENCY, converted with
# the FX table) needs a second officer; so do lifting a limit, unfreezing a fraud freeze, closing.
FOUR_EYES_APPROVAL_AMOUNT = env.int("FOUR_EYES_APPROVAL_AMOUNT", default=10_000_00)
# Seconds a request for a second officer stays open before it expires (nothing done).
FOUR_EYES_REQUEST_TTL_SECONDS = env.int("FOUR_EYES_REQUEST_TTL_SECONDS", default=24 * 3600)
CELERY_BEAT_SCHEDULE["compliance-decision-requests-expire"] = {
    "task": "compliance.tasks.decision_requests_expire",
    "schedule": 300.0,
}
# Highest 24 h outflow limit an officer may set on a wallet (minor units), even with a second officer.
VELOCITY_LIMIT_CEILING = env.int("VELOCITY_LIMIT_CEILING", default=1_000_000_00)
# Seconds one field of personal data stays unmasked for the officer who revealed it (with a reason).
PII_REVEAL_SECONDS = env.int("PII_REVEAL_SECONDS", default=300)
# Seconds without a request after which an admin session is logged out (the API is not affected).
ADMIN_IDLE_TIMEOUT_SECONDS = env.int("ADMIN_IDLE_TIMEOUT_SECONDS", default=1800)
# The admin asks for a TOTP token after the password (django-otp); production settings require it.
ADMIN_REQUIRE_OTP = env.bool("ADMIN_REQUIRE_OTP", default=False)
# django-axes: this many failed logins for one username from one address lock them out ...
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
# ... for this many minutes (then the failures are forgotten); `manage.py axes_reset` unlocks at once.
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # the admin login form's field (explicit: axes' default is a lazy object)
AXES_RESET_ON_SUCCESS = True
AXES_ONLY_ADMIN_SITE = True  # the API authenticates bearer tokens, never a password
AXES_ENABLE_ADMIN = False  # attempts are audited in the database; unlocking is `manage.py axes_reset`
# The TOTP key is a secret: the admin never shows it again after a device is enrolled.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
OTP_TOTP_ISSUER = "CrowdPay Connect"

# --- Officers' back-office, deciding (compliance/admin_case.py, compliance/dashboard.py) ------------
# Shortest text an officer must write with the reason code when approving or rejecting a review case.
REVIEW_REASON_MIN_LENGTH = env.int("REVIEW_REASON_MIN_LENGTH", default=20)
# Hours an open review case may wait before the dashboard counts it as an SLA breach.
REVIEW_SLA_HOURS = env.int("REVIEW_SLA_HOURS", default=24)
