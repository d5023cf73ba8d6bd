"""Tokens at rest, read straight from the database: never in the clear, bound to their row,
re-encryptable under a new key."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from config.environment import new_token_key, parse_token_keys
from smartapp.models import EhrConnection, Launch, TokenGrant
from smartapp.secretbox import DecryptionError


def app_tables() -> list[str]:
    return [model._meta.db_table for model in apps.get_app_config("smartapp").get_models()] + [
        "django_session"
    ]


def all_text_in(tables: list[str]) -> str:
    dump: list[str] = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - our own table names
            dump.extend(str(row) for row in cursor.fetchall())
    return "\n".join(dump)


@pytest.fixture
def launched(sandbox, connect, browser):
    from sandbox.models import Token

    connection_ = connect("client_secret_basic")
    browser.launch(browser.start_standalone(connection_), user="Patient/pat-01")
    return Token.objects.get()


def test_no_plaintext_token_in_any_column(launched) -> None:
    from tests.fixtures.app import SECRET

    dump = all_text_in(app_tables())
    for secret in (launched.access_token, launched.refresh_token, launched.id_token, SECRET):
        assert secret
        assert secret not in dump
    assert "v1." in dump  # the ciphertexts are there


def test_a_ciphertext_moved_to_another_row_fails(sandbox, connect, browser, launched) -> None:
    connection_ = EhrConnection.objects.get()
    browser.launch(browser.start_ehr(connection_, patient="pat-02"))
    first, second = TokenGrant.objects.order_by("created")
    TokenGrant.objects.filter(pk=second.pk).update(
        refresh_token_encrypted=first.refresh_token_encrypted
    )
    second.refresh_from_db()
    with pytest.raises(DecryptionError):
        second.get_secret("refresh_token")
    # and moved to another field of the same row
    TokenGrant.objects.filter(pk=first.pk).update(
        access_token_encrypted=first.refresh_token_encrypted
    )
    first.refresh_from_db()
    with pytest.raises(DecryptionError):
        first.get_secret("access_token")


def test_rotate_token_keys(settings, launched, capsys) -> None:
    old_keys = tuple(settings.TOKEN_ENCRYPTION_KEYS)
    new_key = parse_token_keys("K", new_token_key())[0]
    plain = {
        "access": TokenGrant.objects.get().get_secret("access_token"),
        "refresh": TokenGrant.objects.get().get_secret("refresh_token"),
        "secret": EhrConnection.objects.get().get_secret("client_secret"),
        "verifier": Launch.objects.get().get_secret("verifier"),
    }
    with override_settings(TOKEN_ENCRYPTION_KEYS=(new_key, *old_keys)):
        call_command("rotate_token_keys")
        assert "3 rows re-encrypted" in capsys.readouterr().out
        call_command("rotate_token_keys")  # idempotent: nothing left to do
        assert "done: 0 rows re-encrypted" in capsys.readouterr().out
    with override_settings(TOKEN_ENCRYPTION_KEYS=(new_key,)):  # only the new key now
        grant = TokenGrant.objects.get()
        assert grant.get_secret("access_token") == plain["access"]
        assert grant.get_secret("refresh_token") == plain["refresh"]
        assert EhrConnection.objects.get().get_secret("client_secret") == plain["secret"]
        assert Launch.objects.get().get_secret("verifier") == plain["verifier"]
    with override_settings(TOKEN_ENCRYPTION_KEYS=old_keys), pytest.raises(DecryptionError):
        TokenGrant.objects.get().get_secret("access_token")
