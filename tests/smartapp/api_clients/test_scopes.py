import pytest

from smartapp.api_clients.scopes import API_SCOPES, parse_scopes, scope_text


def test_the_four_scopes_each_say_what_they_grant():
    assert set(API_SCOPES) == {"summary.read", "results.read", "medications.read", "patients.read"}
    assert all(text for text in API_SCOPES.values())


def test_parse_scopes_reads_a_space_separated_string():
    assert parse_scopes(" summary.read  results.read ") == {"summary.read", "results.read"}
    assert parse_scopes("") == frozenset()


@pytest.mark.parametrize("text", ["summary.write", "summary.read patient/*.read", "SUMMARY.READ"])
def test_unknown_scopes_are_refused_not_dropped(text):
    with pytest.raises(ValueError, match="unknown scope"):
        parse_scopes(text)


def test_a_huge_scope_string_is_refused():
    with pytest.raises(ValueError, match="too long"):
        parse_scopes("summary.read " * 1000)


def test_scope_text_is_canonical():
    assert scope_text(["results.read", "summary.read", "results.read"]) == (
        "results.read summary.read"
    )
