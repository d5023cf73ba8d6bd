"""Tools for QA engineers and staff: the standalone launch page, the launch debugger and the
conformance report page. None of it is reachable by patients or clinicians (`access`)."""
