"""The Celery application: configured from Django settings (the CELERY_* names).

With no REDIS_URL the settings make every task run eagerly in the calling process, so the
demo and the tests need no broker or worker; with one, `celery -A config worker` and
`celery -A config beat` run the tasks and the schedule in CELERY_BEAT_SCHEDULE.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("smartapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
