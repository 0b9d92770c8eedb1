"""
Settings for the calls project.

Every deployment choice comes from the environment (see README), read through
the typed readers of calls_project/env.py: a bad value stops start-up with a
message naming the variable. The embedded defaults (SQLite, in-memory channel
layer, SFU inside Daphne) need none of it.
"""

import logging
import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from calls_project.env import (
    env_bool,
    env_choice,
    env_csp_sources,
    env_float,
    env_int,
    env_json,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent


def turn_urls(ice_servers: list[object]) -> list[str]:
    """The ``turn:`` and ``turns:`` URLs in a list of RTCIceServer objects (``urls``: one URL or a list)."""
    found = []
    for server in ice_servers:
        urls = server.get("urls") if isinstance(server, dict) else None
        for url in urls if isinstance(urls, list) else [urls]:
            if isinstance(url, str) and url.startswith(("turn:", "turns:")):
                found.append(url)
    return found


MIN_SECRET_KEY_CHARS = 50
# Keys no deployment may run with: Django's development prefix and deploy/calls.env.example's placeholder.
PLACEHOLDER_SECRET_KEY_MARKERS = ("django-insecure", "change-me", "replace-me")
DEVELOPMENT_SECRET_KEY_FILE = BASE_DIR / ".secret_key"


def development_secret_key(path: Path) -> str:
    """
    A random key made once per checkout and kept beside it (git-ignored, readable by its owner only): the
    development server signs call tokens and sessions with a key that is in no repository.
    """
    if not path.exists():
        # Written whole under another name, then linked: processes starting together agree on one key.
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(64))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def production_secret_key(key: str) -> str:
    """The secret key production runs with: set, long and not a placeholder, or the server does not start."""
    if not key:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production (DJANGO_DEBUG unset or 0).")
    if len(key) < MIN_SECRET_KEY_CHARS:
        raise ImproperlyConfigured(f"DJANGO_SECRET_KEY must have at least {MIN_SECRET_KEY_CHARS} characters.")
    if any(marker in key.lower() for marker in PLACEHOLDER_SECRET_KEY_MARKERS):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is a placeholder: generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(64))'."
        )
    return key


# Production unless asked otherwise: `make run` asks for development (DJANGO_DEBUG=1).
DEBUG = env_bool("DJANGO_DEBUG", False)
# The key is used verbatim: stripping it would change every signature made with it.
if DEBUG:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", strip=False) or development_secret_key(DEVELOPMENT_SECRET_KEY_FILE)
else:
    SECRET_KEY = production_secret_key(env_str("DJANGO_SECRET_KEY", strip=False))

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "django_htmx",
    "sessions_app",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "sessions_app.api.cors.ApiCorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
SILENCED_SYSTEM_CHECKS: list[str] = []

ROOT_URLCONF = "calls_project.urls"

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

WSGI_APPLICATION = None
ASGI_APPLICATION = "calls_project.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Connections are kept (checked before reuse): the consumers' database calls run on one thread, and
        # opening a connection for each call was a third of that thread's time in a burst of joins.
        conn_max_age=600,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the websocket consumers write while pages read.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL;")
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"].setdefault("TEST", {"NAME": str(BASE_DIR / "test-db.sqlite3")})

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # No read timeout, as before redis-py 8: its 5 s default timed out the layer's idle 5 s
                # blocking pop and crashed every quiet consumer, and with any timeout around that read, a
                # consumer cancelled as its socket closes could miss the cancellation and block forever.
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                # Keys start with this; deployments (or test runs) sharing one Redis database keep apart.
                "prefix": env_str("CALLS_REDIS_PREFIX", "asgi"),
                # Messages waiting per channel (default 100): an SFU worker's one channel carries the signaling
                # of every call it hosts, and a burst of joins must not find it full.
                "capacity": 1000,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "calls_project.channel_layers.LocalChannelLayer"}}
# Rate limits (django-ratelimit, the websocket's connects per address) count in the cache: with Redis,
# every process shares one count, so N processes do not allow N times the rate.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CALLS_REDIS_PREFIX", "calls"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Messages (the admin shows an app's keys and a webhook's secret once, through one) live in the server-side
# session, not in a cookie the browser keeps.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

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
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Share links and media.
CALLS_PUBLIC_URL = env_str("CALLS_PUBLIC_URL").rstrip("/")
CALLS_MEDIA_IPS = env_list("CALLS_MEDIA_IPS", [])
CALLS_CORS_ALLOWED_ORIGINS = env_list("CALLS_CORS_ALLOWED_ORIGINS", ["*"])
CALLS_CALL_TOKEN_TTL_SECONDS = env_int("CALLS_CALL_TOKEN_TTL_SECONDS", 6 * 60 * 60)
CALLS_TOKEN_RATE = env_str("CALLS_TOKEN_RATE", "60/m")
# The SDK's login(uid, authKey) hands an auth token to anyone holding the app's auth key, which ships in
# the app's pages: a development convenience, off in production unless asked for.
CALLS_DEV_LOGIN = env_bool("CALLS_DEV_LOGIN", DEBUG)
# Auth tokens (loginWithAuthToken) stop working after this; an app's server mints new ones.
CALLS_AUTH_TOKEN_TTL_SECONDS = env_int("CALLS_AUTH_TOKEN_TTL_SECONDS", 30 * 24 * 60 * 60)
CALLS_LOGIN_RATE = env_str("CALLS_LOGIN_RATE", "20/m")
# New calls from the home page (no account needed) per client address.
CALLS_CREATE_RATE = env_str("CALLS_CREATE_RATE", "10/m")
# Webhooks to loopback, private and link-local addresses are refused; development receivers on 127.0.0.1 need this.
CALLS_WEBHOOKS_ALLOW_PRIVATE = env_bool("CALLS_WEBHOOKS_ALLOW_PRIVATE", False)
# Websocket connects per client address (counted in the cache: shared by every process with Redis).
CALLS_WS_CONNECT_RATE = env_str("CALLS_WS_CONNECT_RATE", "120/m")
# How long a participant a moderator removed is refused by that call; 0: until an operator readmits them.
CALLS_REMOVAL_SECONDS = env_int("CALLS_REMOVAL_SECONDS", 0)
# Where the SFU writes recordings: <dir>/<session_id>/<start time>/, one WebM file per recorded track.
CALLS_RECORDINGS_DIR = env_str("CALLS_RECORDINGS_DIR", str(BASE_DIR / "recordings"))
# Where composed recordings are kept, through Django's storage API: CALLS_RECORDINGS_DIR by default; a
# bucket with django-storages (CALLS_RECORDINGS_STORAGE=storages.backends.s3.S3Storage and its options as
# JSON in CALLS_RECORDINGS_STORAGE_OPTIONS, e.g. {"bucket_name": "calls", "endpoint_url": "https://..."}).
STORAGES["recordings"] = {
    "BACKEND": env_str("CALLS_RECORDINGS_STORAGE", "sessions_app.recording_storage.RecordingsDirectoryStorage"),
    "OPTIONS": env_json("CALLS_RECORDINGS_STORAGE_OPTIONS", {}, expected_type=dict),
}
# A recordingURL (call logs, the admin's player) works this long; a webhook's, for its retries, longer.
CALLS_RECORDING_URL_TTL_SECONDS = env_int("CALLS_RECORDING_URL_TTL_SECONDS", 60 * 60)
CALLS_RECORDING_WEBHOOK_URL_TTL_SECONDS = env_int("CALLS_RECORDING_WEBHOOK_URL_TTL_SECONDS", 7 * 24 * 60 * 60)
# Recordings older than this many days are deleted with their files by the recordings worker; 0 keeps them.
CALLS_RECORDING_RETENTION_DAYS = env_int("CALLS_RECORDING_RETENTION_DAYS", 0)
# The composed file (manage.py run_recordings): its size and frame rate, as WIDTHxHEIGHT@FPS.
CALLS_RECORDING_CANVAS = env_str("CALLS_RECORDING_CANVAS", "1280x720@15")
# A composition that fails is tried this many times in all; a worker holds a job this long between signs of life.
CALLS_RECORDING_COMPOSE_ATTEMPTS = env_int("CALLS_RECORDING_COMPOSE_ATTEMPTS", 3)
CALLS_RECORDING_LEASE_SECONDS = env_float("CALLS_RECORDING_LEASE_SECONDS", 60.0)
# Origins of third-party sites that embed calls with the SDK (their pages open our websocket).
CALLS_EMBED_ORIGINS = env_list("CALLS_EMBED_ORIGINS", [])
# Sites allowed to show our pages in a frame (CSP frame-ancestors); by default none may.
CALLS_FRAME_ANCESTORS = env_csp_sources("CALLS_FRAME_ANCESTORS", [NONE])
CALLS_MEDIA_ANNOUNCED_IP = env_str("CALLS_MEDIA_ANNOUNCED_IP")
# RTCIceServer objects: {"urls": ..., "username": ..., "credential": ...}.
CALLS_ICE_SERVERS = env_json("CALLS_ICE_SERVERS", [], expected_type=list)
# Where media runs: "embedded" (the SFU inside each Daphne process: one Daphne process only) or
# "workers" (``manage.py runsfu`` processes host the sessions; every Daphne process reaches them
# through the channel layer, so REDIS_URL and a shared database are required).
CALLS_SFU = env_choice("CALLS_SFU", ("embedded", "workers"), "embedded")
# Publishers' RTP straight from the socket to the forwarding table (off: aiortc's queued receive path,
# kept to compare the two in benchmarks).
CALLS_SFU_RECEIVE_FROM_SOCKET = env_bool("CALLS_SFU_RECEIVE_FROM_SOCKET", True)
if CALLS_SFU == "workers" and not REDIS_URL:
    raise ImproperlyConfigured("CALLS_SFU=workers needs REDIS_URL: workers and Daphne processes talk through Redis.")
# SFU workers and (with workers) Daphne processes heartbeat every second; one silent this long is dead:
# a worker's sessions move to a live one, a Daphne process's participants are closed for everyone.
CALLS_HEARTBEAT_TIMEOUT_S = env_float("CALLS_HEARTBEAT_TIMEOUT_S", 5.0)

# TURN with short-lived credentials (sessions_app/turn.py): coturn's use-auth-secret with this shared secret.
# Each join gets a credential for the TURN servers of CALLS_TURN_URLS, valid CALLS_TURN_CREDENTIAL_TTL_SECONDS:
# coturn checks it when a relay is allocated and at every refresh, so it must outlive the longest call it
# serves (the call token's lifetime by default), and no more.
CALLS_TURN_SECRET = env_str("CALLS_TURN_SECRET")
CALLS_TURN_URLS = env_list("CALLS_TURN_URLS", [])
CALLS_TURN_CREDENTIAL_TTL_SECONDS = env_int("CALLS_TURN_CREDENTIAL_TTL_SECONDS", CALLS_CALL_TOKEN_TTL_SECONDS)
if bool(CALLS_TURN_SECRET) != bool(CALLS_TURN_URLS):
    raise ImproperlyConfigured("CALLS_TURN_SECRET and CALLS_TURN_URLS go together: set both or neither.")
if bad_turn_urls := [url for url in CALLS_TURN_URLS if not url.startswith(("turn:", "turns:"))]:
    raise ImproperlyConfigured(f"CALLS_TURN_URLS takes turn: and turns: URLs, not {bad_turn_urls[0]!r}.")
# Which candidates browsers may use: "all" (direct to the SFU when they can) or "relay" (only through the
# TURN servers of CALLS_ICE_SERVERS, for networks that must not see the media server, or to prove TURN works).
# Checked here only: sessions_app hands browsers this setting as it is.
CALLS_ICE_TRANSPORT_POLICY = env_choice("CALLS_ICE_TRANSPORT_POLICY", ("all", "relay"), "all")
if CALLS_ICE_TRANSPORT_POLICY == "relay" and not turn_urls(CALLS_ICE_SERVERS) and not CALLS_TURN_URLS:
    raise ImproperlyConfigured(
        "CALLS_ICE_TRANSPORT_POLICY=relay needs a TURN server (CALLS_TURN_URLS, or CALLS_ICE_SERVERS)."
    )
# /metrics (Prometheus text format) answers only a scraper with this bearer token; unset, it is a 404.
CALLS_METRICS_TOKEN = env_str("CALLS_METRICS_TOKEN")

# Content-Security-Policy (django-csp) on every response. Nothing inline runs: scripts are ES modules
# from /static/, styles are stylesheets, the call config is a json_script block. Media elements play
# local camera streams (mediastream:) and blobs. connect-src 'self' covers the SDK's fetches and its
# ws(s):// signaling socket on the page's own host (CSP Level 3 matches ws/wss against 'self').
# Images may also come from any https: host: participants' avatars are their apps' URLs (plain http:
# ones show only from this server itself, under 'self'; an https page would block them as mixed content).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:", "https:"],
        "media-src": [SELF, "blob:", "mediastream:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": CALLS_FRAME_ANCESTORS,
    }
}
# X-Frame-Options, for browsers without frame-ancestors, says the same thing or nothing: it cannot name
# other sites, so once any is allowed to embed the pages, frame-ancestors alone decides.
if CALLS_FRAME_ANCESTORS == [NONE]:
    X_FRAME_OPTIONS = "DENY"
elif CALLS_FRAME_ANCESTORS == [SELF]:
    X_FRAME_OPTIONS = "SAMEORIGIN"
    # W019 asks for DENY; the operator chose to let the site frame itself.
    SILENCED_SYSTEM_CHECKS.append("security.W019")
else:
    MIDDLEWARE.remove("django.middleware.clickjacking.XFrameOptionsMiddleware")
    # W002 asks for X-Frame-Options; frame-ancestors protects against clickjacking instead.
    SILENCED_SYSTEM_CHECKS.append("security.W002")

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    # HTTPS only: plain-http requests are redirected (turn off only where a proxy already does it)...
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # ...and behind a TLS-terminating proxy, its header (e.g. X-Forwarded-Proto) tells Django the request
    # was https: without it every request looks like http (redirect loop, CSRF origin failures, no HSTS).
    if proxy_header := env_str("DJANGO_SECURE_PROXY_SSL_HEADER"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_header.upper().replace("-", "_"), "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # W021 asks for preload, a commitment for the whole domain that only its owner can make.
        SILENCED_SYSTEM_CHECKS.append("security.W021")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# The level of this project's loggers: a name logging knows (INFO, DEBUG, ...), in any case.
CALLS_LOG_LEVEL = env_choice("CALLS_LOG_LEVEL", tuple(logging.getLevelNamesMapping()), "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "sessions_app": {"level": CALLS_LOG_LEVEL},
        "webhooks": {"level": CALLS_LOG_LEVEL},
    },
}
