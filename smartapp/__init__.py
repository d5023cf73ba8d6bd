"""The Django app: EHR connections, launches and their grants, and the services around them.

The SMART protocol itself lives in the framework-free `smart` package; this app gives it a
database, a cache, HTTP and pages. docs/architecture.md draws the layers.
"""
