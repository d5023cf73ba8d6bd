"""The Django project package and the SMART engine.

Importing the Celery app here makes `@shared_task` bind to it whenever Django starts.
"""

from smartapp.celery import app as celery_app

__all__ = ["celery_app"]
