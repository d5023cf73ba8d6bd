"""WSGI entry point (gunicorn smartapp.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartapp.settings")

application = get_wsgi_application()
