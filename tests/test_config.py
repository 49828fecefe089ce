"""Settings come from STATUSPAGE_* variables, parsed strictly; secrets never have a default."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from statuspage import config
from statuspage.config import SettingError, Settings, env_bool, env_choice, env_int, env_str


def environ(tmp_path: Path, **values: str) -> dict[str, str]:
    """A minimal environment with its own instance directory."""
    return {"STATUSPAGE_INSTANCE_DIR": str(tmp_path / "instance"),
            **{f"STATUSPAGE_{key}": value for key, value in values.items()}}


# --- booleans, integers, choices --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("Yes", True), (" ON ", True),
     ("0", False), ("false", False), ("no", False), ("OFF", False)],
)
def test_env_bool_reads_the_usual_spellings(raw, expected):
    assert env_bool("FLAG", not expected, {"STATUSPAGE_FLAG": raw}) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled", "truee"])
def test_env_bool_refuses_anything_else(raw):
    with pytest.raises(SettingError, match=f"STATUSPAGE_FLAG={raw!r} is not a boolean"):
        env_bool("FLAG", False, {"STATUSPAGE_FLAG": raw})


def test_an_unset_or_empty_setting_takes_its_default():
    assert env_bool("FLAG", True, {}) is True
    assert env_bool("FLAG", True, {"STATUSPAGE_FLAG": ""}) is True
    assert env_int("COUNT", 7, {"STATUSPAGE_COUNT": ""}) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "10s", "0x10"])
def test_env_int_refuses_what_is_not_a_whole_number(raw):
    with pytest.raises(SettingError, match="is not an integer"):
        env_int("COUNT", 1, {"STATUSPAGE_COUNT": raw})


def test_env_int_refuses_a_number_below_its_minimum():
    with pytest.raises(SettingError, match="must be at least 1"):
        env_int("COUNT", 1, {"STATUSPAGE_COUNT": "0"}, minimum=1)


def test_env_choice_refuses_an_unknown_word():
    with pytest.raises(SettingError, match="must be one of file, smtp"):
        env_choice("MAIL_BACKEND", "file", ("file", "smtp"), {"STATUSPAGE_MAIL_BACKEND": "pigeon"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("COOKIE_SECURE", "maybe", "not a boolean"),
        ("SMTP_PORT", "twenty-five", "not an integer"),
        ("SMTP_PORT", "0", "at least 1"),
        ("PUBLIC_MAX_AGE", "-1", "at least 0"),
        ("VERSION_CHECK_MS", "soon", "not an integer"),
        ("MAIL_BACKEND", "carrier-pigeon", "must be one of"),
        ("SMTP_SECURITY", "ssl", "must be one of"),
        ("TIMEZONE", "Mars/Olympus_Mons", "not an IANA time zone"),
        ("TIMEZONE", "../../etc/passwd", "not an IANA time zone"),
    ],
)
def test_settings_refuse_a_bad_value_at_start_up(tmp_path, name, value, message):
    with pytest.raises(SettingError, match=message):
        Settings.from_env(environ(tmp_path, **{name: value}))


def test_settings_read_every_documented_variable(tmp_path):
    settings = Settings.from_env(environ(
        tmp_path,
        DATABASE_URL="postgresql+psycopg://status@db/status",
        BASE_URL="https://status.example.com/",
        PAGE_NAME="Example",
        TIMEZONE="America/Tijuana",
        MAIL_BACKEND="smtp",
        SMTP_HOST="mail.example.com",
        SMTP_PORT="587",
        SMTP_USERNAME="status",
        SMTP_PASSWORD="hunter22",
        SMTP_SECURITY="starttls",
        MAIL_FROM="status@example.com",
        VERSION_CHECK_MS="250",
    ))

    assert settings.instance_dir == (tmp_path / "instance").resolve()
    assert settings.database_url == "postgresql+psycopg://status@db/status"
    assert settings.base_url == "https://status.example.com"
    assert settings.cookie_secure is True
    assert (settings.page_name, settings.timezone) == ("Example", "America/Tijuana")
    assert (settings.mail_backend, settings.smtp_host, settings.smtp_port) == ("smtp", "mail.example.com", 587)
    assert (settings.smtp_username, settings.smtp_password, settings.smtp_security) == (
        "status", "hunter22", "starttls"
    )
    assert settings.mail_from == "status@example.com"
    assert settings.version_check_seconds == 0.25


def test_the_embedded_defaults_need_no_environment_but_the_instance_dir(tmp_path):
    settings = Settings.from_env(environ(tmp_path))

    assert settings.database_url == f"sqlite:///{(tmp_path / 'instance').resolve() / 'statuspage.db'}"
    assert settings.timezone == "Etc/UTC"
    assert settings.mail_backend == "file"
    assert settings.cookie_secure is False
    assert settings.smtp_password is None
    assert settings.version_check_seconds == 1


# --- secrets from files -----------------------------------------------------------------------


def test_a_secret_can_come_from_a_file(tmp_path):
    (tmp_path / "smtp_password").write_text("from a file\n")
    (tmp_path / "secret_key").write_text("a key kept by the orchestrator\n")

    settings = Settings.from_env(environ(
        tmp_path,
        SMTP_PASSWORD_FILE=str(tmp_path / "smtp_password"),
        SECRET_KEY_FILE=str(tmp_path / "secret_key"),
    ))

    assert settings.smtp_password == "from a file"
    assert settings.secret_key == "a key kept by the orchestrator"


def test_the_variable_itself_wins_over_its_file(tmp_path):
    (tmp_path / "password").write_text("from a file")

    value = env_str("SMTP_PASSWORD", None, {"STATUSPAGE_SMTP_PASSWORD": "direct",
                                            "STATUSPAGE_SMTP_PASSWORD_FILE": str(tmp_path / "password")})

    assert value == "direct"


def test_an_unreadable_secret_file_is_refused(tmp_path):
    with pytest.raises(SettingError, match="STATUSPAGE_SMTP_PASSWORD_FILE: cannot read"):
        Settings.from_env(environ(tmp_path, SMTP_PASSWORD_FILE=str(tmp_path / "missing")))


# --- the secret key ---------------------------------------------------------------------------


def test_the_secret_key_is_generated_once_into_the_instance_dir_and_reused(tmp_path):
    first = Settings.from_env(environ(tmp_path))
    second = Settings.from_env(environ(tmp_path))

    key_file = tmp_path / "instance" / "secret_key"
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_each_installation_gets_its_own_secret_key(tmp_path):
    one = Settings.from_env(environ(tmp_path / "one"))
    two = Settings.from_env(environ(tmp_path / "two"))

    assert one.secret_key != two.secret_key
    assert one.secret_key not in Path(config.__file__).read_text()


def test_a_configured_secret_key_is_used_and_nothing_is_written(tmp_path):
    settings = Settings.from_env(environ(tmp_path, SECRET_KEY="configured-secret-key"))

    assert settings.secret_key == "configured-secret-key"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_an_empty_secret_key_file_is_refused_rather_than_used(tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text("\n")

    with pytest.raises(SettingError, match="secret_key"):
        Settings.from_env(environ(tmp_path))


def test_the_app_signs_sessions_with_the_settings_key(tmp_path):
    from statuspage import create_app

    settings = Settings.from_env(environ(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"))
    app = create_app(settings)

    assert app.config["SECRET_KEY"] == settings.secret_key
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    app.extensions["statuspage.db"].engine.dispose()
