#!/usr/bin/env bash
# Installs what is missing, migrates and serves the app on 127.0.0.1:8000 (embedded defaults).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements.txt
export CALLS_MEDIA_IPS="${CALLS_MEDIA_IPS:-127.0.0.1}"
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py close_stale_participants -v0 >/dev/null
if [ "${DJANGO_DEBUG:-1}" = "0" ]; then
  .venv/bin/python manage.py collectstatic --noinput -v0
fi
echo "calls is serving on http://${CALLS_HOST:-127.0.0.1}:${CALLS_PORT:-8000}/"
exec .venv/bin/daphne -b "${CALLS_HOST:-127.0.0.1}" -p "${CALLS_PORT:-8000}" calls_project.asgi:application
