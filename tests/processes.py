"""Start the app's real worker and scheduler processes for tests where timing or crashes matter."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def process_env(app, **extra: str) -> dict[str, str]:
    """The environment a production process would get, pointing at the test's services."""
    config = app.config
    leads = ",".join(f"{s}s" for s in config["REMINDER_LEADS"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "DATABASE", "MAIL", "CACHE"))}
    env.update(
        APP_ENV="testing", SECRET_KEY=config["SECRET_KEY"], DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=config["REDIS_URL"], CACHE_REDIS_URL=config["CACHE_REDIS_URL"],
        MAIL_SERVER=config["MAIL_SERVER"], MAIL_PORT=str(config["MAIL_PORT"]),
        APP_TIMEZONE=config["APP_TIMEZONE"], REMINDER_LEADS=leads,
        REMINDER_SWEEP_SECONDS=str(config["REMINDER_SWEEP_SECONDS"]),
        SCHEDULER_RESYNC_SECONDS=str(config["SCHEDULER_RESYNC_SECONDS"]), PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Processes:
    """Children started by a test, all stopped (and reaped) at its end."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []

    def worker(self, env: dict[str, str], *queues: str) -> subprocess.Popen:
        return self._start([str(BIN / "rq"), "worker", "--url", env["REDIS_URL"], "--worker-class",
                            "jobs.worker.AppSimpleWorker", *(queues or ("high", "default", "low"))], env)

    def scheduler(self, env: dict[str, str], interval: float = 0.2) -> subprocess.Popen:
        return self._start([str(BIN / "python"), "-m", "scheduler", "--url", env["REDIS_URL"],
                            "--interval", str(interval)], env)

    def _start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        child = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if child.poll() is None:
            os.killpg(child.pid, sig)
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()

    def stop_all(self) -> None:
        for child in self.children:
            self.stop(child)
