#!/bin/sh
# Stop what ./start.sh started (same STACK_NAME): its containers and network. Needs docker
# and compose v2. Exit status: 0 stopped (or nothing to stop); 2 an invalid STACK_NAME;
# otherwise docker compose's own (its message above).
set -u
docker=${DOCKER:-docker}
# STACK_NAME as start.sh reads it: the blanks around it (the CR of an env file edited on
# Windows) do not count.
name=${STACK_NAME:-}
name=${name#"${name%%[![:space:]]*}"}
name=${name%"${name##*[![:space:]]}"}
name=${name:-php-stack}
lower=abcdefghijklmnopqrstuvwxyz0123456789  # spelled out: a range may take in capitals in some locales
case $name in
  [$lower]*) case $name in *[!"$lower"_-]*) bad=1 ;; *) bad= ;; esac ;;
  *) bad=1 ;;
esac
if [ -n "$bad" ]; then
  printf '%s\n' "stop: error: STACK_NAME='$STACK_NAME' is not valid: use lowercase letters, digits, '-' and '_', starting with a letter or digit (a compose project name)" >&2
  exit 2
fi
exec "$docker" compose --project-name "$name" down
