"""A real HTTP server on 127.0.0.1 in a thread, serving a WSGI app: where tests meet third parties.

Each fake speaks the documented API shape of the provider it stands for (SMS
providers, OAuth providers); the code under test talks to it over real sockets.
"""
from __future__ import annotations

import threading

from werkzeug.serving import make_server


class LocalHTTPServer:
    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LocalHTTPServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
