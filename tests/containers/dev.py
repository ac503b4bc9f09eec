"""Start or stop a topology to write drills against: `python -m tests.containers.dev up|down`.

`up` builds the image as localhost/filmclub-dev:latest (kept: `down` removes the containers, network and
volumes, not the image) and prints the FILMCLUB_CONTAINER_REUSE value that points the tests at it.
"""
from __future__ import annotations

import sys

from tests.containers.topology import Topology, build_image, podman

PROJECT, IMAGE, PORT, PASSWORD = "filmclub-dev", "localhost/filmclub-dev:latest", 18080, "dev" * 16


def main(command: str) -> None:
    topology = Topology(PROJECT, IMAGE, PORT, "dev-secret-" * 6, PASSWORD)
    if command == "up":
        build_image(IMAGE)
        topology.up()
        print(f"FILMCLUB_CONTAINER_REUSE={PROJECT}:{IMAGE}:{PORT}:{PASSWORD}")
    elif command == "down":
        topology.down()
        podman("network", "rm", "-f", f"{PROJECT}_default", check=False)
    else:
        raise SystemExit("usage: python -m tests.containers.dev up|down")


if __name__ == "__main__":
    main(sys.argv[1])
