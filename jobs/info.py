"""`make info`: run `rq info` against the project's queue Redis.

Uses REDIS_URL, or the embedded Redis that a running `make run` recorded.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from app.config import read_env_file, services_env_file
from app.safe_jobs import SERIALIZER_PATH


def main() -> int:
    url = os.environ.get("REDIS_URL") or read_env_file(services_env_file(os.environ)).get("REDIS_URL")
    if not url:
        print("no queue Redis: set REDIS_URL, or start the app with `make run` first", file=sys.stderr)
        return 1
    rq = Path(sys.executable).with_name("rq")
    os.execv(str(rq), [str(rq), "info", "--url", url, "--serializer", SERIALIZER_PATH, *sys.argv[1:]])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
