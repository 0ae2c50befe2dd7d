"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from directory.collector import set_aside_what_lasts
from directory.startup import require_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "directory.settings")
application = get_asgi_application()
require_secret_key()
set_aside_what_lasts()
