#!/bin/bash
# Container entry point: optional start-up checks and migrations, then exec the role,
# so the process gets the container's signals (docker stop = SIGTERM = rq's warm shutdown).
#
#   web              gunicorn on 0.0.0.0:$PORT (migrates first: MIGRATE_ON_START, default yes)
#   worker           one rq worker (scale with `docker compose up --scale worker=N`)
#   scheduler        rq-scheduler (`python -m scheduler`, or SCHEDULER_PROGRAM)
#   migrate          `flask db upgrade`, then exit
#   dev-all-in-one   Redis, mail catcher, web, workers and scheduler under supervisord
#   anything else    run as given (`flask shell`, `rq info --url "$REDIS_URL"`)
set -euo pipefail

cd "${APP_HOME:-/app}"
export FLASK_APP=app:create_app PYTHONUNBUFFERED=1

role=${1:-web}
[ $# -gt 0 ] && shift

migrate() { flask db upgrade; }
check_redis() { [ "${CHECK_REDIS:-yes}" != yes ] || flask check-redis; }
# The database and both Redis servers answer first (deploy/docker/wait_for_services.py says why).
wait_for_services() { python "${APP_HOME:-/app}/deploy/docker/wait_for_services.py"; }
require_redis_url() { [ -n "${REDIS_URL:-}" ] || { echo "entrypoint: REDIS_URL is not set" >&2; exit 64; }; }

case $role in
    web)
        wait_for_services
        check_redis
        [ "${MIGRATE_ON_START:-yes}" != yes ] || migrate
        exec gunicorn --config deploy/gunicorn.conf.py --bind "0.0.0.0:${PORT:-8000}" --access-logfile - --graceful-timeout 30 \
            "$@" 'app:create_app()'
        ;;
    worker)
        require_redis_url
        wait_for_services
        [ "${MIGRATE_ON_START:-no}" != yes ] || migrate
        # Unique per start: a restarted container must not clash with its dead self's registration.
        name=${WORKER_NAME:-$(hostname).$(date +%s)}
        read -r -a queues <<< "${WORKER_QUEUES:-high default low}"
        exec rq worker --url "$REDIS_URL" --worker-class jobs.worker.AppSimpleWorker --with-scheduler --name "$name" "$@" "${queues[@]}"
        ;;
    scheduler)
        require_redis_url
        wait_for_services
        read -r -a program <<< "${SCHEDULER_PROGRAM:-python -m scheduler}"
        exec "${program[@]}" --url "$REDIS_URL" --interval "${SCHEDULER_INTERVAL:-1}" "$@"
        ;;
    migrate)
        wait_for_services
        migrate
        ;;
    dev-all-in-one)
        # One container for development (seed step 5): the app's services beside it.
        mkdir -p "${DEV_DATA_DIR:-/tmp/filmclub}/redis" "${DEV_DATA_DIR:-/tmp/filmclub}/mail"
        export DEV_DATA_DIR=${DEV_DATA_DIR:-/tmp/filmclub}
        export DEV_REDIS_PORT=${DEV_REDIS_PORT:-6379}
        export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:$DEV_REDIS_PORT/0}
        export MAIL_SERVER=${MAIL_SERVER:-127.0.0.1} MAIL_PORT=${MAIL_PORT:-1025}
        export DEV_MAIL_DIR=${DEV_MAIL_DIR:-$DEV_DATA_DIR/mail}
        migrate
        flask seed-demo --if-empty
        exec supervisord --nodaemon -c deploy/supervisor/filmclub-dev.conf "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
