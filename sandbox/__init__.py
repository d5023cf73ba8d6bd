"""The sandbox EHR for development and QA: a SMART authorization server and FHIR R4 API.

It runs as its own server on its own origin and is never installed by production settings.
"""
