#!/bin/sh
# Entry point of the EDC Bridge image (under tini): one role per container.
#
#   serve     the HTTP sidecar (gunicorn) on $EDC_HOST:$EDC_PORT (default 0.0.0.0:8080);
#             $EDC_WEB_WORKERS processes (default: 2 with a broker), $EDC_WEB_THREADS threads each
#   worker    a Celery worker on $EDC_CELERY_QUEUE with $EDC_WORKER_CONCURRENCY processes (default 2)
#   beat      Celery beat, the outbox sweep every EDC_SWEEP_INTERVAL seconds — run exactly one
#   migrate   apply the database migrations, then exit (run it before starting a new version)
#
# Anything else is run as given: `edc-bridge sources add moodle-main`, `edc-bridge keys info`, `sh`.
# Extra arguments after a role are passed to its program. Secrets are read from files through the
# *_FILE variables (/run/secrets/... under compose and Kubernetes); none is ever echoed here.
set -eu

# SoftHSM2's token folder lives in the data volume (a fresh volume, or an emptyDir, starts empty).
mkdir -p "${EDC_DATA_DIR:-/var/lib/edc-bridge}/softhsm/tokens" 2>/dev/null || true

role=${1:-serve}
[ $# -gt 0 ] && shift

case "$role" in
  serve)
    set -- --host "${EDC_HOST:-0.0.0.0}" --port "${EDC_PORT:-8080}" \
           --threads "${EDC_WEB_THREADS:-32}" ${EDC_WEB_WORKERS:+--workers "$EDC_WEB_WORKERS"} "$@"
    exec edc-bridge serve "$@"
    ;;
  worker)
    # A node name unique per container, also under host networking where containers share the
    # host's name; the health check pings this name.
    node="worker-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')@$(cat /proc/sys/kernel/hostname)"
    exec celery -A bridge.tasks.celery_app worker --hostname "$node" \
         --queues "${EDC_CELERY_QUEUE:-edc-bridge}" --concurrency "${EDC_WORKER_CONCURRENCY:-2}" \
         --loglevel "${EDC_LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    exec celery -A bridge.tasks.celery_app beat --schedule /tmp/celerybeat-schedule \
         --loglevel "${EDC_LOG_LEVEL:-INFO}" "$@"
    ;;
  migrate)
    exec edc-bridge db upgrade "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
