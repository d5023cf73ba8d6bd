"""JSON lines: one object per log record, for log shippers that parse rather than grep.

The formatter only serialises; redaction and the correlation id are added by the handler's
filters (smartapp.log_redaction, smartapp.request_id) before a record gets here.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from smartapp.log_redaction import STANDARD_RECORD_ATTRS


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in STANDARD_RECORD_ATTRS and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)
