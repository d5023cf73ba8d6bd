"""Service clients of the use-case API: OAuth 2.0 client credentials issued by this app
(docs/api.md)."""
