"""`make bench`: every benchmark in turn.

Exits non-zero only when a benchmark could not run or measure; a missed
target is printed, not an error (the figures depend on the machine).
"""
from __future__ import annotations

import importlib
import sys
import traceback

BENCHMARKS = ("bench.cache_bench", "bench.mail_bench", "bench.reminder_bench")


def run(module_name: str) -> bool:
    """Run one benchmark module's ``main()``; True unless it failed."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"\n== {module_name}: not present, skipped")
        return True
    print(f"\n== {module_name}", flush=True)
    try:
        code = module.main()
    except Exception:
        traceback.print_exc()
        return False
    return code in (None, 0)


def main() -> int:
    failed = [name for name in BENCHMARKS if not run(name)]
    if failed:
        print(f"\nbenchmarks that could not measure: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
