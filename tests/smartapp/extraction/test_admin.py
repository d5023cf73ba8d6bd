"""The extraction admin: read-only jobs with their files and problems, and a cancel action.

Jobs are real runs against the live sandbox (steps in this process); the pages are rendered
by the Django test client as a superuser, and must never show a token or a file's URL.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.test import Client, RequestFactory

from sandbox.models import Token
from smartapp.extraction import dispatch, jobs
from smartapp.extraction.records import ExtractionFile, ExtractionJob
from tests.fixtures.extraction import run

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/smartapp/extractionjob/"


def _assert_no_secret(html: bytes) -> None:
    page = html.decode()
    tokens = [t for t in Token.objects.values_list("access_token", flat=True) if t]
    assert tokens  # a job ran: there are tokens to look for
    assert not [token for token in tokens if token in page]
    urls = ExtractionFile.objects.values_list("url", flat=True)
    assert not [url for url in urls if url in page]


def _queued(connection: Any) -> ExtractionJob:
    with dispatch.inline():  # its kick-off is queued here and never run
        return jobs.start(connection, full=True)


def test_jobs_cannot_be_added_changed_or_deleted(admin_user: User) -> None:
    model_admin = admin.site._registry[ExtractionJob]
    request = RequestFactory().get("/")
    request.user = admin_user  # even a superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    for inline in model_admin.get_inline_instances(request):
        assert not inline.has_add_permission(request, None)
        assert not inline.has_change_permission(request, None)
        assert not inline.has_delete_permission(request, None)


def test_the_changelist_shows_jobs_and_filters(
    admin_client: Client, backend_connection: Any
) -> None:
    job = run(backend_connection(export_malformed_line=True), full=True)
    page = admin_client.get(CHANGELIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert str(job.pk)[:8] in html
    assert "Bulk bulk" in html  # the connection
    assert f"{job.resources_loaded:,}" in html or str(job.resources_loaded) in html
    assert "By state" in html
    by_connection = {"connection__id__exact": str(job.connection_id)}
    assert str(job.pk)[:8] in admin_client.get(CHANGELIST, by_connection).content.decode()
    assert "Cancel selected jobs" in html
    assert "Add extraction job" not in html
    _assert_no_secret(page.content)
    assert admin_client.get(CHANGELIST, {"state": "done"}).status_code == 200


def test_the_detail_page_is_read_only_with_files_and_problems(
    admin_client: Client, backend_connection: Any
) -> None:
    job = run(backend_connection(export_malformed_line=True), full=True)
    assert job.lines_malformed > 0
    page = admin_client.get(f"{CHANGELIST}{job.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Extraction files" in html
    assert "Observation" in html
    assert "problems (skipped lines" in html.lower()
    assert html.count("not valid JSON") == job.lines_malformed
    assert 'name="_save"' not in html  # no change form
    assert 'name="files-MAX_NUM_FORMS" value="0"' in html  # no row can be added
    _assert_no_secret(page.content)


def test_the_cancel_action_cancels_running_jobs_only(
    admin_client: Client, backend_connection: Any
) -> None:
    connection = backend_connection()
    finished = run(connection, full=True)
    queued = _queued(connection)
    page = admin_client.post(
        CHANGELIST,
        {"action": "cancel_jobs", "_selected_action": [str(queued.pk), str(finished.pk)]},
        follow=True,
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "1 job(s) cancelled" in html
    assert "1 job(s) had already ended" in html
    queued.refresh_from_db()
    finished.refresh_from_db()
    assert queued.state == "cancelled"
    assert finished.state == "done"
    _assert_no_secret(page.content)


def test_cancelling_needs_the_change_permission(client: Client, backend_connection: Any) -> None:
    connection = backend_connection()
    run(connection, full=True)
    queued = _queued(connection)
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_extractionjob"))
    client.force_login(viewer)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert "Cancel selected jobs" not in page.content.decode()
    client.post(CHANGELIST, {"action": "cancel_jobs", "_selected_action": [str(queued.pk)]})
    queued.refresh_from_db()
    assert queued.state == "queued"
