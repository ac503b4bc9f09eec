"""The compose topology of deploy/docker/docker-compose.yml run with podman, and how the tests reach it.

Every container, network and volume carries the project's label (podman-compose puts
``io.podman.compose.project`` on all of them), so ``remove_everything`` finds what a run made even after a
crash, and removes nothing else. The project image is tagged with the run's own name for the same reason.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COMPOSE_FILE = ROOT / "deploy" / "docker" / "docker-compose.yml"
TEST_OVERRIDES = Path(__file__).resolve().parent / "compose.test.yml"
PROJECT_PREFIX = "filmclub-ctest"   # every project a test run makes starts with this
LABEL = "io.podman.compose.project"


def podman(*args: str, check: bool = True, timeout: float = 300, input: str | None = None
           ) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    return result


def build_image(tag: str, target: str = "runtime") -> float:
    """Build deploy/docker/Dockerfile as it is (the host's network and certificates: see CONTAINERS.md)."""
    started = time.monotonic()
    podman("build", "--network", "host", "-v", "/etc/ssl/certs:/etc/ssl/certs:ro", "--target", target,
           "-t", tag, "-f", str(ROOT / "deploy" / "docker" / "Dockerfile"), str(ROOT), timeout=1500)
    return time.monotonic() - started


def remove_everything(project_prefix: str = PROJECT_PREFIX, image_prefix: str = "localhost/filmclub-ctest"
                      ) -> list[str]:
    """Remove the containers, pods, networks, volumes and images of every test project; return what went."""
    removed = []
    names = podman("ps", "-a", "--format", "{{.Names}} {{.Labels}}", check=False).stdout.splitlines()
    doomed = [line.split()[0] for line in names
              if f"{LABEL}:{project_prefix}" in line or line.startswith(project_prefix)]
    if doomed:
        podman("rm", "-f", "-t", "0", *doomed, check=False, timeout=600)
        removed += doomed
    for kind in ("network", "volume"):
        listing = podman(kind, "ls", "--format", "{{.Name}}", check=False).stdout.split()
        mine = [name for name in listing if name.startswith(project_prefix)]
        if mine:
            podman(kind, "rm", "-f", *mine, check=False)
            removed += mine
    images = podman("images", "--format", "{{.Repository}}:{{.Tag}}", check=False).stdout.split()
    mine = [image for image in images if image.startswith(image_prefix)]
    if mine:
        podman("rmi", "-f", *mine, check=False, timeout=600)
        removed += mine
    podman("image", "prune", "-f", check=False, timeout=600)   # the build's untagged stages
    return removed


class Topology:
    """One compose project: ``up``, reach its services, take hosts away, ``down``."""

    def __init__(self, project: str, image: str, http_port: int, secret: str, queue_password: str) -> None:
        self.project = project
        self.image = image
        self.http_port = http_port
        self.queue_password = queue_password
        self.env = {**os.environ, "FILMCLUB_IMAGE": image, "FILMCLUB_HTTP_PORT": str(http_port),
                    "SECRET_KEY": secret, "QUEUE_REDIS_PASSWORD": queue_password}
        self.base_url = f"http://127.0.0.1:{http_port}"

    # --- compose -----------------------------------------------------------------------
    def compose(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        command = [str(BIN / "podman-compose"), "--project-name", self.project, "-f", str(COMPOSE_FILE),
                   "-f", str(TEST_OVERRIDES), *args]
        result = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=timeout,
                                cwd=ROOT)
        if result.returncode != 0:
            raise RuntimeError(f"podman-compose {' '.join(args)} exited {result.returncode}:\n"
                               f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def up(self) -> None:
        """Start the file's services in the order its `depends_on` gives, one stage at a time.

        Debian's podman is 4.3: podman-compose ignores `condition: service_healthy` before podman 4.6 and
        the `--requires` links it makes for `depends_on` fail to start there ("depends on container ... not
        found in input list"). So each stage is started with --no-deps once the one before it is ready:
        the servers, then `migrate` (waited for: exit 0), then the app, then nginx. `docker compose up`
        does the same from the file alone.
        """
        self.compose("up", "-d", "--no-build", "--no-deps", "redis-queue", "redis-cache", "db", "mail", "migrate")
        migrate = self.containers("migrate", running_only=False)[0]
        code = podman("wait", migrate, timeout=300).stdout.strip()
        if code != "0":
            raise RuntimeError(f"migrate exited {code}:\n{self.logs(migrate)}")
        self.compose("up", "-d", "--no-build", "--no-deps", "web", "worker", "scheduler")
        self.compose("up", "-d", "--no-build", "--no-deps", "proxy")

    def recreate(self, service: str, **env: str) -> None:
        """Replace ``service``'s containers with new ones whose environment has ``env`` (as
        `MAIL_MAX_PER_SECOND=20 docker compose up -d --force-recreate worker` would)."""
        self.env.update(env)
        self.compose("up", "-d", "--no-build", "--no-deps", "--force-recreate", service)

    def down(self) -> None:
        self.compose("down", "--volumes", "-t", "5", timeout=600)

    # --- containers ----------------------------------------------------------------------
    def containers(self, service: str, running_only: bool = True) -> list[str]:
        args = ["ps", "--filter", f"label={LABEL}={self.project}",
                "--filter", f"label=io.podman.compose.service={service}", "--format", "{{.Names}}"]
        if not running_only:
            args.insert(1, "-a")
        return sorted(podman(*args).stdout.split())

    def container(self, service: str) -> str:
        names = self.containers(service)
        if not names:
            raise RuntimeError(f"no running {service} container")
        return names[0]

    def exec(self, service_or_container: str, *command: str, user: str | None = None, check: bool = True,
             timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        name = (service_or_container if service_or_container.startswith(self.project)
                else self.container(service_or_container))
        args = ["exec"]
        if user:
            args += ["--user", user]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        return podman(*args, name, *command, check=check, timeout=timeout)

    def flask(self, *command: str) -> str:
        """A `flask` command in a web container, with the container's configuration."""
        return self.exec("web", "env", "FLASK_APP=app:create_app", "flask", *command).stdout

    def logs(self, container: str, tail: int = 60) -> str:
        result = podman("logs", "--tail", str(tail), container, check=False)
        return result.stdout + result.stderr

    def inspect(self, container: str, template: str) -> str:
        return podman("inspect", "--format", template, container).stdout.strip()

    # --- the services' state -------------------------------------------------------------
    def sql(self, statement: str) -> str:
        return self.exec("db", "psql", "-U", "filmclub", "-d", "filmclub", "-tAqc", statement).stdout.strip()

    def queue_redis(self, *command: str) -> str:
        return self.exec("redis-queue", "redis-cli", *command).stdout.strip()

    def mail_dir(self) -> Path:
        mountpoint = podman("volume", "inspect", "--format", "{{.Mountpoint}}", f"{self.project}_mail-data"
                            ).stdout.strip()
        return Path(mountpoint) / "mail"


class MailSink:
    """The messages the mail container kept, read from its volume on the host (each file once)."""

    HEADER = re.compile(rb"^(X-Envelope-To|Subject): (.*)$", re.M | re.I)

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seen: dict[str, tuple[str, str]] = {}   # file name -> (recipient, subject)

    def refresh(self) -> list[tuple[str, str]]:
        for path in self.directory.glob("*.eml"):
            if path.name not in self.seen:
                head = path.read_bytes()[:4096].split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
                fields = {k.decode().lower(): v.decode(errors="replace").strip()
                          for k, v in self.HEADER.findall(head)}
                self.seen[path.name] = (fields.get("x-envelope-to", ""), fields.get("subject", ""))
        return list(self.seen.values())

    def count_by_recipient(self, subject: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for recipient, found in self.refresh():
            if found == subject:
                counts[recipient] = counts.get(recipient, 0) + 1
        return counts

    def arrival_times(self, subject: str) -> list[float]:
        """Arrival times (the catcher names files by time.time_ns()) of messages with ``subject``."""
        self.refresh()
        return sorted(int(name.split("-", 1)[0]) / 1e9 for name, (_, found) in self.seen.items()
                      if found == subject)


def json_of(text: str) -> dict:
    return json.loads(text)
