"""gunicorn settings shared by every launcher: `make run`, init.d, systemd, supervisor, Docker.

Each passes ``--config deploy/gunicorn.conf.py`` and adds only its bind address
(and, where it chooses, ``--workers``; else gunicorn reads ``WEB_CONCURRENCY``).
Command-line options win over this file, so an operator can still override any
setting (``--threads 128``).

Why gthread. With sync workers one worker serves one connection from its first
byte to its last: two clients that open a connection and send nothing (or a
header line now and then) stop a two-worker site. gthread keeps idle and
keep-alive connections in a poller and hands a connection to one of
``threads`` threads only once it has sent something, so idle clients cost a
file descriptor, not a worker. A client that trickles its headers still holds a
thread until they end (gunicorn has no header timeout), which is why the number
of threads is bounded but generous: 64 per worker keeps ``/healthz`` answering
while 50 such clients hold connections (``tests/test_slow_clients.py``), and a
thread that waits on a socket costs little memory and no CPU. In production a
buffering reverse proxy (``deploy/nginx/``) goes in front: it reads whole
requests, with header and body timeouts and a size limit, before gunicorn sees
them, so no number of slow clients reaches the threads.

The app is thread-safe: Flask's request state is per thread, SQLAlchemy's
session is scoped per thread (pool: 5 + 10 overflow per process), and the cache
layer's shared state sits behind locks.
"""

worker_class = "gthread"
threads = 64                 # per worker: bounded, and more than the slow clients the test holds
worker_connections = 1000    # gthread: most connections a worker keeps open (idle ones included)
keepalive = 5                # seconds an idle keep-alive connection is kept
timeout = 30                 # a worker that stops answering the arbiter for this long is restarted
graceful_timeout = 30        # on SIGTERM/HUP, requests in flight get this long to finish
limit_request_line = 4094    # gunicorn's defaults, stated: longer lines and headers are a 400
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
