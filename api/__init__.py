"""The use-case API, version 1 (docs/api.md)."""
