"""WSGI entry point (gunicorn directory.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from directory.collector import set_aside_what_lasts
from directory.startup import require_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "directory.settings")
application = get_wsgi_application()
require_secret_key()
set_aside_what_lasts()
