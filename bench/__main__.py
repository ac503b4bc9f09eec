"""`make bench`: every benchmark in turn, then var/bench/results.json and var/bench/ratios.png.

Exits non-zero only when a benchmark could not run or measure; a missed
target is printed, not an error (the figures depend on the machine). Every
ratio a benchmark prints is also recorded; the names the issue asks for that no
benchmark measured are written as null with the reason, never guessed.

``BENCH_QUICK=1``: small sizes and one round each, for the inner loop (the run
records ``"quick": true``; its figures are not the ones to quote).
"""
from __future__ import annotations

import copy
import importlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from bench.results import Results, results_dir, save

BENCHMARKS = ("bench.cache_bench", "bench.mail_bench", "bench.reminder_bench")

# Arguments per benchmark: the full run takes the benchmarks' defaults.
QUICK_ARGS = {
    "bench.cache_bench": ["--quick", "--rounds", "1", "--seconds", "1", "--warmup", "0.2"],
    "bench.mail_bench": ["--recipients", "1000", "--large", "5000", "--rounds", "1", "--per-job", "100"],
    "bench.reminder_bench": ["--lateness", "50", "--fanout", "1000", "--large", "5000"],
}


def quick_mode(environ: dict[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get("BENCH_QUICK", "") not in ("", "0")


def run(module_name: str, argv: list[str], results: Results) -> bool:
    """Run one benchmark module's ``main(argv, results)``; True unless it failed."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"\n== {module_name}: not present, skipped")
        return True
    print(f"\n== {module_name} {' '.join(argv)}".rstrip(), flush=True)
    try:
        code = module.main(argv, results)
    except Exception:
        traceback.print_exc()
        return False
    return code in (None, 0)


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parents[1])
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def run_info(quick: bool) -> dict:
    postgres = os.environ.get("TEST_DATABASE_URL", "").startswith(("postgres://", "postgresql"))
    return {
        "title": f"make bench{' (BENCH_QUICK=1: small sizes, one round)' if quick else ''}, "
                 f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
                 f"load average {_load_average()}",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "cpus": os.cpu_count(),
        "load_average_at_start": _load_average(),
        "load_generator": "wrk" if shutil.which("wrk") else "python (bench/loadgen.py): wrk is not installed",
        "postgresql": postgres,
        "commit": _git_commit(),
        "python": platform.python_version(),
    }


def _stop(signum, frame) -> None:
    """SIGTERM: unwind, so each benchmark stops the servers it started and drops its databases."""
    raise SystemExit(128 + signum)


def main() -> int:
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        return _main()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main() -> int:
    quick = quick_mode()
    results = Results(run=run_info(quick))
    print(f"make bench: {results.run['title']}")
    if not shutil.which("wrk"):
        print("WARNING: wrk is not installed: the cache benchmark falls back to its Python load generator, which "
              "shares the cores with the server (make bench installs Debian's wrk when run as root on Debian)",
              file=sys.stderr)
    started = time.monotonic()
    no_postgres = {} if results.run["postgresql"] else {
        "postgresql": "TEST_DATABASE_URL does not point at a PostgreSQL server in this run"}
    failed = []

    def save_partial() -> None:
        """After every figure: a run stopped half way still leaves everything it measured."""
        partial = Results(run={**results.run, "partial": "written while the run was still going"},
                          ratios=copy.deepcopy(results.ratios))
        pending = "not reached yet: the run was still going when this was written"
        partial.fill_required({"sqlite": pending, "postgresql": no_postgres.get("postgresql", pending)})
        save(partial, results_dir())

    results.on_change = save_partial
    for name in BENCHMARKS:
        if not run(name, QUICK_ARGS.get(name, []) if quick else [], results):
            failed.append(name)
    results.on_change = None
    results.run["minutes"] = round((time.monotonic() - started) / 60, 1)
    results.run["load_average_at_end"] = _load_average()
    results.fill_required(no_postgres)
    json_path, png_path, why = save(results, results_dir())
    print(f"\nresults: {json_path}" + (f", chart: {png_path}" if png_path else f" ({why})"))
    for ratio in results.ratios:
        verdict = "" if ratio.met is None else ("  met" if ratio.met else "  NOT met")
        shown = ratio.note if ratio.value is None else f"{ratio.value:.2f}"
        side = ">=" if ratio.better == "higher" else "<="
        target = "" if ratio.target is None else f" (target {side} {ratio.target})"
        print(f"  {ratio.name:<48}{shown}{target}{verdict}")
    if failed:
        print(f"\nbenchmarks that could not measure: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
