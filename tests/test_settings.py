import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_settings(**env):
    clean = {key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="directory.settings")
    code = "from django.conf import settings; print(settings.DEBUG, settings.DATABASES['default']['ENGINE'])"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, check=False
    )


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = _load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_is_off_unless_asked_and_sqlite_is_the_default():
    result = _load_settings(SECRET_KEY="k")
    assert result.stdout.split() == ["False", "django.db.backends.sqlite3"]


def test_database_url_switches_to_postgresql():
    result = _load_settings(SECRET_KEY="k", DEBUG="1", DATABASE_URL="postgres://u@127.0.0.1:5432/d")
    assert result.stdout.split() == ["True", "django.db.backends.postgresql"]


def test_request_lines_are_never_logged():
    """Access-log lines carry search terms in their query strings; not even warnings may print."""
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('django.server').warning('\"GET /search/?q=secret HTTP/1.1\" 405 0')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "directory.settings", "SECRET_KEY": "k"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert "secret" not in result.stderr + result.stdout
