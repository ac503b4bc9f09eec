"""The process table (Procfile) is the one place a process's command line is written down.

`make run` builds its commands from it; every other launcher is checked against it here: a
launcher that drifts (another worker class, another gunicorn config, a queue missing) fails.
The init.d scripts are checked by running their `commands` action (tests/test_deploy_initd.py).
"""
from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy import procfile
from deploy.local import stack
from tests.helpers.process_table import drift, shell_defaults
from tests.helpers.processes import Processes

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def exec_of(command: str) -> list[str]:
    """The command a `/bin/sh -c 'exec ...'` wrapper runs, shell defaults filled in."""
    args = shlex.split(command)
    if Path(args[0]).name == "sh" and args[1] == "-c":
        args = shlex.split(shell_defaults(args[2]))
        assert args[0] == "exec", "the wrapper must exec, so signals reach the program itself"
        args = args[1:]
    return args


def test_the_table_lists_every_process_with_a_command():
    table = procfile.load()
    assert list(table) == ["web", "worker", "scheduler", "redis", "mail"]
    assert table["worker"][table["worker"].index("--worker-class") + 1] == "jobs.worker.AppSimpleWorker"
    assert procfile.placeholders(table["worker"]) == {"REDIS_URL", "WORKER_NAME"}
    with pytest.raises(KeyError, match="WORKER_NAME"):
        procfile.command("worker", REDIS_URL="redis://x")


def test_a_drifting_launcher_is_caught():
    worker = procfile.command("worker", REDIS_URL="redis://r", WORKER_NAME="w")
    assert drift("worker", worker) == []
    other_class = [a.replace("AppSimpleWorker", "AppWorker") for a in worker]
    assert drift("worker", other_class) == ["--worker-class 'jobs.worker.AppWorker', the table says "
                                            "'jobs.worker.AppSimpleWorker'"]
    assert drift("worker", [a for a in worker if a != "--with-scheduler"])
    assert drift("worker", worker[:-1])  # a queue missing
    web = procfile.command("web", WEB_BIND="127.0.0.1:1")
    assert drift("web", [a.replace("deploy/gunicorn.conf.py", "/etc/gunicorn.py") for a in web])
    assert drift("web", [*web[:-1], "--worker-class", "sync", web[-1]]) == []  # an added option is the launcher's


def test_make_run_builds_its_commands_from_the_table(tmp_path):
    assert drift("web", stack.web_server_args(5000, {})) == []
    assert drift("worker", stack.Stack.worker_args("redis://127.0.0.1:1/0", 1, 1)) == []
    text = (DEPLOY / "local" / "stack.py").read_text()
    for name in ("web", "worker", "scheduler", "redis", "mail"):
        assert f'procfile.command("{name}"' in text


def test_the_tests_process_launchers_use_the_table(tmp_path):
    processes = Processes()
    started: list[list[str]] = []
    processes._start = lambda args, env, name="process": started.append(args)  # record, start nothing
    processes.worker({"REDIS_URL": "redis://r"})
    processes.scheduler({"REDIS_URL": "redis://r"})
    assert drift("worker", started[0]) == [] and drift("scheduler", started[1]) == []


def test_supervisor_runs_the_tables_commands():
    for conf, names in (("filmclub.conf", ("web", "worker", "scheduler")), ("filmclub-dev.conf", ("redis", "mail"))):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(DEPLOY / "supervisor" / conf)
        for name in names:
            command = re.sub(r"%\(([A-Za-z_]+)\)[sd]", r"$\1", parser[f"program:{name}"]["command"])
            assert drift(name, exec_of(command)) == [], f"{conf} [program:{name}]"


def test_systemd_runs_the_tables_commands():
    for unit, name in (("filmclub-web.service", "web"), ("filmclub-worker@.service", "worker"),
                       ("filmclub-scheduler.service", "scheduler")):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str
        parser.read(DEPLOY / "systemd" / unit)
        command = parser["Service"]["ExecStart"].replace("$$", "$")
        assert drift(name, exec_of(command)) == [], unit


def test_init_d_defaults_name_the_tables_worker_class_queues_and_scheduler():
    worker = procfile.load()["worker"]
    defaults = (DEPLOY / "default" / "filmclub-worker").read_text()
    assert f"#WORKER_CLASS={worker[worker.index('--worker-class') + 1]}\n" in defaults
    assert f'#WORKER_QUEUES="{" ".join(worker[-3:])}"\n' in defaults
    scheduler = " ".join(procfile.load()["scheduler"][:3])
    assert f'#SCHEDULER_PROGRAM="{scheduler}"\n' in (DEPLOY / "default" / "filmclub-scheduler").read_text()
    script = (DEPLOY / "init.d" / "filmclub-worker").read_text()
    assert f': "${{WORKER_CLASS:={worker[worker.index("--worker-class") + 1]}}}"' in script


def test_the_container_entry_point_and_compose_run_the_tables_commands(tmp_path):
    """Each compose service's role, through the real entrypoint.sh, with the programs it execs stubbed."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for program in ("gunicorn", "rq", "python", "flask"):
        (stubs / program).write_text('#!/bin/sh\nprintf "%s\\n" "$(basename "$0")" "$@" > "$STUB_OUT/$(date +%s%N)"\n')
        (stubs / program).chmod(0o755)
    compose = yaml.safe_load((DEPLOY / "docker" / "docker-compose.yml").read_text())
    for service, name in (("web", "web"), ("worker", "worker"), ("scheduler", "scheduler")):
        out = tmp_path / service
        out.mkdir()
        env = {"PATH": f"{stubs}:/usr/bin:/bin", "APP_HOME": str(ROOT), "REDIS_URL": "redis://redis-queue:6379/0",
               "STUB_OUT": str(out)}
        role, *args = compose["services"][service]["command"]
        subprocess.run([str(DEPLOY / "docker" / "entrypoint.sh"), role, *args], env=env, check=True, timeout=30)
        executed = (out / max(os.listdir(out))).read_text().splitlines()  # the last program run: the exec
        assert drift(name, executed) == [], f"compose service {service}: {executed}"
