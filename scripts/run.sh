#!/usr/bin/env bash
# Installs what is missing, migrates and serves the app on 127.0.0.1:8000 (embedded defaults),
# with the webhook delivery worker and the recordings worker running beside Daphne.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements.txt
# The settings default to production; `make run` asks for development unless told DJANGO_DEBUG=0.
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
export CALLS_MEDIA_IPS="${CALLS_MEDIA_IPS:-127.0.0.1}"
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py close_stale_participants -v0 >/dev/null
if [ "$DJANGO_DEBUG" = "0" ]; then
  .venv/bin/python manage.py collectstatic --noinput -v0
fi
# The webhook worker delivers from the database outbox in its own process, so no receiver can slow a call;
# it stops when Daphne does. Killed or crashed, it loses nothing: the next start carries on.
.venv/bin/python manage.py run_webhooks &
webhooks_pid=$!
# The recordings worker composes stopped recordings into one file each, in its own process (decoding and
# encoding never run beside a call's media); killed mid-way, its job is taken again on the next start.
.venv/bin/python manage.py run_recordings -v0 &
recordings_pid=$!
trap 'kill -TERM "$webhooks_pid" "$recordings_pid" 2>/dev/null || true; wait "$webhooks_pid" "$recordings_pid" 2>/dev/null || true' EXIT
echo "calls is serving on http://${CALLS_HOST:-127.0.0.1}:${CALLS_PORT:-8000}/"
.venv/bin/daphne -b "${CALLS_HOST:-127.0.0.1}" -p "${CALLS_PORT:-8000}" calls_project.asgi:application &
daphne_pid=$!
# SIGINT/SIGTERM to this script are passed on to Daphne; wait until it has really exited.
trap 'kill -TERM "$daphne_pid" 2>/dev/null || true' INT TERM
set +e
wait "$daphne_pid"
status=$?
while kill -0 "$daphne_pid" 2>/dev/null; do
  wait "$daphne_pid"
  status=$?
done
exit "$status"
