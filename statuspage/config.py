"""Settings from STATUSPAGE_* environment variables, parsed strictly.

Every setting lives here. Secrets may come from `NAME_FILE` (a path whose
contents are the value) and never have a default in code: the secret key,
when not given, is generated once and kept in the instance directory.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The checkout: templates/, static/ and migrations/ live beside the package (the design card's top level).
ROOT = Path(__file__).resolve().parent.parent

PREFIX = "STATUSPAGE_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingError(ValueError):
    """A setting has a value we refuse to guess about."""


def env_str(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """Read `STATUSPAGE_<name>`, or the file named by `STATUSPAGE_<name>_FILE`."""
    value = _value_or_file(PREFIX + name, environ)
    return default if value is None else value


def _value_or_file(key: str, environ: Mapping[str, str] | None) -> str | None:
    """The variable `key`, or the contents of the file named by `<key>_FILE`, or None."""
    environ = os.environ if environ is None else environ
    if key in environ and environ[key] != "":
        return environ[key]
    file_key = key + "_FILE"
    if environ.get(file_key):
        try:
            return Path(environ[file_key]).read_text().strip()
        except OSError as exc:
            raise SettingError(f"{file_key}: cannot read {environ[file_key]}: {exc}") from exc
    return None


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Read a boolean; an unknown spelling raises instead of meaning False."""
    raw = env_str(name, None, environ)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingError(f"{PREFIX}{name}={raw!r} is not a boolean (use true or false)")


def env_int(
    name: str, default: int, environ: Mapping[str, str] | None = None, minimum: int = 0, maximum: int | None = None
) -> int:
    """Read an integer no smaller than `minimum` (and no larger than `maximum`, when given)."""
    raw = env_str(name, None, environ)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingError(f"{PREFIX}{name}={raw!r} is not an integer") from exc
    if value < minimum:
        raise SettingError(f"{PREFIX}{name}={value} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise SettingError(f"{PREFIX}{name}={value} must be at most {maximum}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...], environ: Mapping[str, str] | None = None) -> str:
    """Read one of a fixed set of words."""
    value = env_str(name, default, environ) or default
    if value not in choices:
        raise SettingError(f"{PREFIX}{name}={value!r} must be one of {', '.join(choices)}")
    return value


def _read_key(path: Path) -> str:
    """The kept key; an empty file (say, a crash mid-write) is refused, never used."""
    key = path.read_text().strip()
    if not key:
        raise SettingError(f"{path} is empty; delete it to generate a new secret key")
    return key


def _secret_key(instance_dir: Path, environ: Mapping[str, str] | None) -> str:
    """The configured key, or one generated on first start and kept in the instance dir."""
    configured = env_str("SECRET_KEY", None, environ)
    if configured:
        return configured
    path = instance_dir / "secret_key"
    if path.exists():
        return _read_key(path)
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process won the race; give it a moment to finish writing.
        deadline = time.monotonic() + 2
        while not path.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.01)
        return _read_key(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _ca_bundle(environ: Mapping[str, str] | None) -> str | None:
    """An extra CA bundle for probes of internal HTTPS services; it must be a readable file."""
    path = env_str("PROBE_CA_BUNDLE", None, environ)
    if path is None:
        return None
    if not Path(path).is_file():
        raise SettingError(f"{PREFIX}PROBE_CA_BUNDLE={path!r} is not a readable file")
    return path


def _frame_ancestors(environ: Mapping[str, str] | None) -> str:
    """STATUSPAGE_FRAME_ANCESTORS: 'self', 'none', * or origins such as https://intranet.example.com."""
    raw = (env_str("FRAME_ANCESTORS", "'self'", environ) or "'self'").strip()
    sources = raw.split()
    allowed = re.compile(r"'self'|'none'|\*|(https?://)?(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?")
    if not sources or any(not allowed.fullmatch(source) for source in sources) or (
            "'none'" in sources and len(sources) > 1):
        raise SettingError(f"{PREFIX}FRAME_ANCESTORS={raw!r} is not a list of origins "
                           "(e.g. 'self' https://intranet.example.com, or 'none')")
    return " ".join(sources)


AWS_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def _publish_s3(environ: Mapping[str, str] | None) -> tuple[str | None, str | None, str | None, str | None]:
    """Where to upload the public site: s3://bucket[/prefix], an optional endpoint for non-AWS storage,
    and the keys when given as AWS_*_FILE (boto3 reads AWS_ACCESS_KEY_ID itself, not the _FILE forms)."""
    url = env_str("PUBLISH_S3_URL", None, environ)
    endpoint = env_str("PUBLISH_S3_ENDPOINT_URL", None, environ)
    if url is None:
        return None, None, None, None
    if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?", url):
        raise SettingError(f"{PREFIX}PUBLISH_S3_URL={url!r} is not s3://bucket or s3://bucket/prefix")
    if endpoint is not None and not re.fullmatch(r"https?://[^\s/]+/?", endpoint):
        raise SettingError(f"{PREFIX}PUBLISH_S3_ENDPOINT_URL={endpoint!r} is not http(s)://host[:port]")
    variables = os.environ if environ is None else environ
    if not any(variables.get(f"{key}_FILE") for key in AWS_KEYS):
        return url, endpoint, None, None
    key_id, secret = (_value_or_file(key, environ) for key in AWS_KEYS)
    if not key_id or not secret:
        raise SettingError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or their _FILE forms) go together")
    return url, endpoint, key_id, secret


@dataclass(frozen=True)
class SmsSettings:
    """A Twilio-compatible SMS API: where it is, the account, and the number texts come from."""

    provider: str
    account_sid: str
    auth_token: str = field(repr=False)
    sender: str
    api_url: str = "https://api.twilio.com"


def _sms(environ: Mapping[str, str] | None) -> SmsSettings | None:
    """STATUSPAGE_SMS_PROVIDER=twilio with its account SID, auth token (or _FILE), sender and API URL; None
    when SMS is off (the default)."""
    provider = env_choice("SMS_PROVIDER", "none", ("none", "twilio"), environ)
    if provider == "none":
        return None
    sid, token, sender = (env_str(name, None, environ) for name in ("SMS_ACCOUNT_SID", "SMS_AUTH_TOKEN", "SMS_FROM"))
    if not sid or not token or not sender:
        raise SettingError(f"{PREFIX}SMS_PROVIDER=twilio needs {PREFIX}SMS_ACCOUNT_SID, {PREFIX}SMS_AUTH_TOKEN "
                           f"(or {PREFIX}SMS_AUTH_TOKEN_FILE) and {PREFIX}SMS_FROM")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", sid):
        raise SettingError(f"{PREFIX}SMS_ACCOUNT_SID={sid!r} is not an account SID")
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", sender):
        raise SettingError(f"{PREFIX}SMS_FROM={sender!r} is not a number in E.164 form (+14155550100)")
    api_url = (env_str("SMS_API_URL", "https://api.twilio.com", environ) or "").rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", api_url):
        raise SettingError(f"{PREFIX}SMS_API_URL={api_url!r} is not an http(s) URL")
    return SmsSettings(provider, sid, token, sender, api_url)


def _http_url(name: str, default: str, environ: Mapping[str, str] | None) -> str:
    """An http(s) URL setting; SettingError otherwise."""
    url = env_str(name, default, environ) or default
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        raise SettingError(f"{PREFIX}{name}={url!r} is not an http(s) URL")
    return url


@dataclass(frozen=True)
class Settings:
    """The parsed configuration of one process."""

    instance_dir: Path
    database_url: str
    secret_key: str
    base_url: str
    page_name: str
    timezone: str
    cookie_secure: bool
    public_max_age: int
    public_stale_while_revalidate: int
    version_check_seconds: float
    ratelimit_storage_url: str
    login_rate_limit: str
    mail_backend: str
    smtp_host: str
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_security: str
    mail_from: str
    api_rate_limit: str = "600 per minute"
    delivery_batch_size: int = 100
    smtp_connections: int = 4
    delivery_lease_seconds: int = 60
    # Changes of one component within this window reach webhooks as one component_update.
    component_update_hold_seconds: int = 30
    # Reverse proxies in front of the web nodes whose X-Forwarded-For/-Proto to trust (0: none).
    trusted_proxies: int = 0
    extra: dict[str, object] = field(default_factory=dict)
    # Probes and the worker (defaults here so code building Settings by hand keeps working).
    probe_allow_link_local: bool = False
    probe_deny_private: bool = False
    probe_max_bytes: int = 1_048_576
    probe_ca_bundle: str | None = None
    # Targets that strangers choose (public webhook sign-ups) may be private or loopback only when set.
    subscriber_allow_private: bool = False
    # Who may frame the public pages (CSP frame-ancestors); the admin and sign-in never may be framed.
    frame_ancestors: str = "'self'"
    # A signed-in session ends after this long without a request.
    session_idle_hours: int = 12
    worker_threads: int = 32
    # The worker's clock runs this many times faster than real time (outage drills and the end-to-end test
    # of the outage loop: a 30 s detection takes 3 s at 10). 1 in production.
    worker_clock_speed: int = 1
    check_retention_days: int = 7
    rollup_retention_days: int = 400
    # Texts to SMS subscribers (STATUSPAGE_SMS_*); None: SMS is not offered.
    sms: SmsSettings | None = None
    # PagerDuty's Events API v2 (alert routes of kind pagerduty); tests point it at a local receiver.
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    # Every snapshot of the public site mirrored to a folder and/or uploaded to S3 (tools/publish.py).
    publish_dir: Path | None = None
    publish_s3_url: str | None = None
    publish_s3_endpoint_url: str | None = None
    # Keys from AWS_*_FILE; None leaves boto3's standard chain (environment, ~/.aws, instance role).
    publish_s3_access_key_id: str | None = None
    publish_s3_secret_access_key: str | None = field(default=None, repr=False)

    @property
    def sms_offered(self) -> bool:
        """Whether subscribers may sign up for texts: the server has an SMS provider."""
        return self.sms is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment; raises SettingError on bad values."""
        instance_dir = Path(env_str("INSTANCE_DIR", "instance", environ) or "instance").resolve()
        database_url = env_str("DATABASE_URL", None, environ) or (
            f"sqlite:///{instance_dir / 'statuspage.db'}"
        )
        timezone = env_str("TIMEZONE", "Etc/UTC", environ) or "Etc/UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingError(f"{PREFIX}TIMEZONE={timezone!r} is not an IANA time zone") from exc
        base_url = (env_str("BASE_URL", "http://127.0.0.1:8000", environ) or "").rstrip("/")
        publish_dir = env_str("PUBLISH_DIR", None, environ)
        s3_url, s3_endpoint, s3_key_id, s3_secret = _publish_s3(environ)
        return cls(
            instance_dir=instance_dir,
            database_url=database_url,
            secret_key=_secret_key(instance_dir, environ),
            base_url=base_url,
            page_name=env_str("PAGE_NAME", "Status", environ) or "Status",
            timezone=timezone,
            cookie_secure=env_bool("COOKIE_SECURE", base_url.startswith("https://"), environ),
            public_max_age=env_int("PUBLIC_MAX_AGE", 10, environ),
            public_stale_while_revalidate=env_int("PUBLIC_STALE_WHILE_REVALIDATE", 60, environ),
            version_check_seconds=env_int("VERSION_CHECK_MS", 1000, environ) / 1000,
            ratelimit_storage_url=env_str("RATELIMIT_STORAGE_URL", "memory://", environ)
            or "memory://",
            login_rate_limit=env_str("LOGIN_RATE_LIMIT", "10 per minute", environ)
            or "10 per minute",
            mail_backend=env_choice("MAIL_BACKEND", "file", ("file", "smtp", "console"), environ),
            smtp_host=env_str("SMTP_HOST", "localhost", environ) or "localhost",
            smtp_port=env_int("SMTP_PORT", 25, environ, minimum=1),
            smtp_username=env_str("SMTP_USERNAME", None, environ),
            smtp_password=env_str("SMTP_PASSWORD", None, environ),
            smtp_security=env_choice(
                "SMTP_SECURITY", "none", ("none", "starttls", "tls"), environ
            ),
            mail_from=env_str("MAIL_FROM", "status@localhost", environ) or "status@localhost",
            api_rate_limit=env_str("API_RATE_LIMIT", "600 per minute", environ) or "600 per minute",
            smtp_connections=env_int("SMTP_CONNECTIONS", 4, environ, minimum=1, maximum=32),
            delivery_batch_size=env_int("DELIVERY_BATCH_SIZE", 100, environ, minimum=1, maximum=1000),
            delivery_lease_seconds=env_int("DELIVERY_LEASE_SECONDS", 60, environ, minimum=1, maximum=3600),
            component_update_hold_seconds=env_int("COMPONENT_UPDATE_HOLD_SECONDS", 30, environ, minimum=0,
                                                  maximum=3600),
            trusted_proxies=env_int("TRUSTED_PROXIES", 0, environ, minimum=0, maximum=10),
            probe_allow_link_local=env_bool("PROBE_ALLOW_LINK_LOCAL", False, environ),
            probe_deny_private=env_bool("PROBE_DENY_PRIVATE", False, environ),
            probe_max_bytes=env_int("PROBE_MAX_BYTES", 1_048_576, environ, minimum=1024,
                                    maximum=100 * 1_048_576),
            probe_ca_bundle=_ca_bundle(environ),
            subscriber_allow_private=env_bool("SUBSCRIBER_ALLOW_PRIVATE", False, environ),
            frame_ancestors=_frame_ancestors(environ),
            session_idle_hours=env_int("SESSION_IDLE_HOURS", 12, environ, minimum=1, maximum=24 * 30),
            worker_threads=env_int("WORKER_THREADS", 32, environ, minimum=1, maximum=512),
            worker_clock_speed=env_int("WORKER_CLOCK_SPEED", 1, environ, minimum=1, maximum=100),
            check_retention_days=env_int("CHECK_RETENTION_DAYS", 7, environ, minimum=1, maximum=90),
            rollup_retention_days=env_int("ROLLUP_RETENTION_DAYS", 400, environ, minimum=1,
                                          maximum=3660),
            sms=_sms(environ),
            pagerduty_events_url=_http_url("PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com/v2/enqueue", environ),
            publish_dir=Path(publish_dir).resolve() if publish_dir else None,
            publish_s3_url=s3_url,
            publish_s3_endpoint_url=s3_endpoint,
            publish_s3_access_key_id=s3_key_id,
            publish_s3_secret_access_key=s3_secret,
        )
