#!/bin/sh
# Stop what ./start.sh started (same STACK_NAME). Needs docker and compose v2.
set -u
docker=${DOCKER:-docker}
exec "$docker" compose --project-name "${STACK_NAME:-php-stack}" down
