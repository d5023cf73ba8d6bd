"""The patient-summary UI: server-rendered pages, no token ever sent to the browser."""
