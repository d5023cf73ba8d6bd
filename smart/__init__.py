"""The SMART App Launch protocol (HL7 SMART App Launch 2.x), framework-free.

Pure code only: no Django, no ORM, no settings, no network. Each module is named for the part
of the specification it implements (PKCE, scopes, the authorization request, the token
response, the launch state table, discovery documents, id_token claims, client
authentication, the error catalogue). I/O lives in `smartapp`, which imports this package;
this package never imports `smartapp` (tests/test_architecture.py checks both).
"""
