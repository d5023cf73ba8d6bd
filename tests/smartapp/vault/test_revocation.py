"""smartapp.vault.revocation: sign-out forgets at once and tells the EHR in the background."""

from __future__ import annotations

import json

import pytest

from config.celery import app
from smart.launch_states import LaunchState
from smartapp.models import Launch, TokenGrant
from smartapp.secretbox import DecryptionError
from smartapp.tasks import revoke_tokens
from smartapp.vault import revocation
from smartapp.vault.revocation import Revocation
from tests.smartapp.vault.test_tokens import launched

SLOW_MS = 3000  # the EHR's revocation endpoint takes this long before it revokes


def test_sign_out_does_not_wait_for_the_revocation(sandbox, connect, browser) -> None:
    from sandbox.models import Token

    _, launch = launched(sandbox, connect, browser, token_delay_ms=SLOW_MS)
    issued = Token.objects.get()
    response = browser.client.post(f"/l/{launch.handle}/sign-out")
    assert response.status_code == 303
    # Forgotten here at once ...
    assert TokenGrant.objects.count() == 0
    assert Launch.objects.get().state == LaunchState.SIGNED_OUT
    # ... while the EHR has not yet been told: the user did not wait for it.
    issued.refresh_from_db()
    assert not issued.refresh_revoked
    assert revocation.wait_idle()
    issued.refresh_from_db()
    assert issued.refresh_revoked
    assert issued.access_revoked


@pytest.fixture
def with_broker(monkeypatch) -> None:
    """Tasks go to a broker (the suite's conftest otherwise runs revocations in a thread)."""
    monkeypatch.setattr(revocation, "_via_broker", lambda: True)


@pytest.fixture
def broker_queue(with_broker, monkeypatch) -> list[dict]:
    """A broker that keeps what is queued (no worker runs in the tests)."""
    queued: list[dict] = []

    def send_task(name, args, **_):
        assert name == revocation.TASK
        queued.append(args[0])

    monkeypatch.setattr(app, "send_task", send_task)
    return queued


def test_with_a_broker_the_task_revokes_and_the_message_holds_no_token(
    sandbox, connect, browser, broker_queue
) -> None:
    from sandbox.models import Token

    _, launch = launched(sandbox, connect, browser)
    grant = TokenGrant.objects.get()
    access, refresh = grant.get_secret("access_token"), grant.get_secret("refresh_token")
    assert browser.client.post(f"/l/{launch.handle}/sign-out").status_code == 303
    assert len(broker_queue) == 1
    message = json.dumps(broker_queue[0])
    assert str(access) not in message
    assert str(refresh) not in message
    revoke_tokens.apply(args=[json.loads(message)])  # what a worker does with it
    issued = Token.objects.get()
    assert issued.refresh_revoked
    assert issued.access_revoked


def test_a_broker_that_refuses_falls_back_to_a_thread(
    sandbox, connect, browser, with_broker, monkeypatch
) -> None:
    from sandbox.models import Token

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(app, "send_task", broker_down)
    _, launch = launched(sandbox, connect, browser)
    assert browser.client.post(f"/l/{launch.handle}/sign-out").status_code == 303
    assert revocation.wait_idle()
    assert Token.objects.get().refresh_revoked


def test_a_sealed_token_opens_only_in_its_own_job() -> None:
    from smartapp.models import EhrConnection

    connection = EhrConnection(slug="x", name="X", iss="https://ehr.example/fhir")
    job = Revocation.seal(connection, [("refresh_token", "r-123"), ("access_token", None)])
    assert job.tokens() == [("refresh_token", "r-123")]  # nothing sealed for a missing token
    moved = Revocation(job.connection_id, "another-job", job.sealed)
    with pytest.raises(DecryptionError):
        moved.tokens()
