"""WSGI entry point for the sandbox EHR alone (`gunicorn sandbox.wsgi`)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from sandbox.handler import SandboxHandler  # noqa: E402

application = SandboxHandler()
