"""config.celery and smartapp.tasks: eager without a broker, the beat schedule is real."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from config.celery import app
from smartapp.tasks import purge_expired_sessions


def test_every_scheduled_task_is_registered() -> None:
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, f"beat entry {name} names an unknown task"


def test_eager_exactly_when_there_is_no_broker() -> None:
    assert app.conf.task_always_eager is (settings.REDIS_URL is None)
    assert app.conf.broker_url == (settings.REDIS_URL or "memory://")


@pytest.mark.django_db
def test_purge_expired_sessions_is_idempotent() -> None:
    now = timezone.now()
    Session.objects.create(session_key="e" * 32, session_data="x", expire_date=now - timedelta(1))
    Session.objects.create(session_key="l" * 32, session_data="x", expire_date=now + timedelta(1))
    purge_expired_sessions.apply()  # runs the task body in-process, broker or not
    purge_expired_sessions.apply()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["l" * 32]
