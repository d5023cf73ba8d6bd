"""The Django project: settings, URLs, WSGI/ASGI entry points and the Celery application.

Importing the Celery app here makes `@shared_task` bind to it whenever Django starts
(`celery -A config worker`, `gunicorn config.wsgi`).
"""

from config.celery import app as celery_app

__all__ = ["celery_app"]
