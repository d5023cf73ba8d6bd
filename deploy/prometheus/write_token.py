"""Write METRICS_TOKEN to the file Prometheus reads its scrape credentials from.

`python deploy/prometheus/write_token.py PATH` (the `metrics-token` service in
docker-compose.yml). Prometheus's configuration cannot read the environment; a file can be
shared through a volume. Exits non-zero, naming the variable, when the token is missing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MIN_LENGTH = 32


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: write_token.py PATH", file=sys.stderr)
        return 2
    token = os.environ.get("METRICS_TOKEN", "").strip()
    if len(token) < MIN_LENGTH:
        print(f"METRICS_TOKEN: must be set, at least {MIN_LENGTH} characters", file=sys.stderr)
        return 1
    path = Path(argv[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token)
    print(f"wrote the scrape token to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
