#!/bin/sh
# Stop what ./start.sh started (same STACK_ENGINE, STACK_NAME and STACK_STATE_DIR).
set -u
here=$(cd "$(dirname "$0")" && pwd)
name=${STACK_NAME:-publisher-example}
state=${STACK_STATE_DIR:-$here/.state}
docker=${DOCKER:-docker}

case ${STACK_ENGINE:-} in
  compose)
    if $docker compose version >/dev/null 2>&1; then compose="$docker compose"; else compose=docker-compose; fi
    # shellcheck disable=SC2086
    STACK_NAME=$name PHP_IMAGE=unused PHP_BUILD_CONTEXT=. PHP_BASE_IMAGE=unused \
      $compose -f "$here/compose.yaml" down
    ;;
  buildah)
    if [ -f "$state/php.pid" ]; then
      pid=$(cat "$state/php.pid")
      # The pid is the `buildah run` that start.sh put in the background.
      kill "$pid" 2>/dev/null && sleep 1
      rm -f "$state/php.pid"
    fi
    buildah rm "$name-php" >/dev/null 2>&1 || true
    ;;
  *)
    $docker rm -f "$name-php" >/dev/null 2>&1 || true
    ;;
esac
