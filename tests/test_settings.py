import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(args, **env):
    clean = {key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="directory.settings")
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, check=False)


def _load_settings(**env):
    code = "from django.conf import settings; print(settings.DEBUG, settings.DATABASES['default']['ENGINE'])"
    return _run(["-c", code], **env)


@pytest.mark.parametrize("entry_point", ["directory.wsgi", "directory.asgi"])
def test_production_mode_refuses_to_serve_without_a_secret_key(entry_point):
    result = _run(["-c", f"import {entry_point}"])
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert _run(["-c", f"import {entry_point}"], SECRET_KEY="k").returncode == 0


def test_commands_that_sign_nothing_run_without_a_secret_key():
    result = _run(["manage.py", "makemigrations", "--check", "--dry-run"])
    assert result.returncode == 0, result.stderr[-500:]
    assert "No changes detected" in result.stdout


def test_debug_is_off_unless_asked_and_sqlite_is_the_default():
    result = _load_settings(SECRET_KEY="k")
    assert result.stdout.split() == ["False", "django.db.backends.sqlite3"]


def test_database_url_switches_to_postgresql():
    result = _load_settings(SECRET_KEY="k", DEBUG="1", DATABASE_URL="postgres://u@127.0.0.1:5432/d")
    assert result.stdout.split() == ["True", "django.db.backends.postgresql"]


@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit():
    """JIT compiling cost 1.5 s on queries that run in 40 ms (the search benchmark)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_request_lines_are_never_logged():
    """Access-log lines carry search terms in their query strings; not even warnings may print."""
    code = (
        "import django, logging; django.setup();"
        "logging.getLogger('django.server').warning('\"GET /search/?q=secret HTTP/1.1\" 405 0')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "directory.settings", "SECRET_KEY": "k"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert "secret" not in result.stderr + result.stdout


def test_the_server_sets_aside_what_it_holds_after_its_first_requests():
    """directory.collector, as the WSGI entry point sets it up: after responses 1, 10, 100 and 1000 what the
    process holds is frozen out of the cycle collector's walks; in between, nothing more is."""
    code = (
        "import gc, directory.wsgi\n"
        "from django.core.signals import request_finished\n"
        "counts = [gc.get_freeze_count()]\n"
        "kept = []\n"
        "for served in range(1, 12):\n"
        "    kept.append([[] for _ in range(100)])\n"
        "    request_finished.send(sender=None)\n"
        "    counts.append(gc.get_freeze_count())\n"
        "print(counts)\n"
    )
    result = _run(["-c", code], SECRET_KEY="k")
    assert result.returncode == 0, result.stderr[-500:]
    counts = [int(count) for count in result.stdout.strip().strip("[]").split(",")]
    assert counts[0] == 0
    assert counts[1] > 0  # after the first response
    assert counts[2:10] == [counts[1]] * 8  # not again until the tenth
    assert counts[10] > counts[9]  # the tenth
    assert counts[11] == counts[10]
