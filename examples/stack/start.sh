#!/bin/sh
# Start the example stack: ask `publisher resolve` whether to run the pre-built
# PHP-FPM image or to build it locally from the same Dockerfile, then start it.
#
#   PHP_VERSION=8.4 STACK_RELEASE=v2.0.0 ./start.sh
#
# Settings (environment):
#   PHP_VERSION, STACK_RELEASE, USE_PREBUILT, ALLOW_LOCAL_BUILD_FALLBACK, PREBUILT_REGISTRY,
#   PMA_IMAGE, PHP_IMAGE_* ...   read by `publisher resolve` (see `publisher resolve --help`)
#   STACK_ENGINE      compose | docker | buildah (default: the first that works, in that order)
#   STACK_NAME        compose project / container name prefix (default publisher-example)
#   PUBLISHER_RESOLVE the resolve command (default `publisher resolve`; the light
#                     `python3 -m publisher.resolve` starts faster)
#   DOCKER            the docker CLI (default docker)
#   STACK_TLS_VERIFY  false to pull from a plain-HTTP registry with buildah
#   PHP_DOCKERFILES   directory of <X.Y>/Dockerfile (default: the repository's dockerfiles/)
#
# Exit status: 0 started; 17 resolve cannot proceed (its message says why and how
# to enable the local build fallback); 2/3 invalid settings; anything else: the
# build, pull or start failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
name=${STACK_NAME:-publisher-example}
state=${STACK_STATE_DIR:-$here/.state}
docker=${DOCKER:-docker}
resolve=${PUBLISHER_RESOLVE:-publisher resolve}
mkdir -p "$state"
env_file="$state/php.env"

log() { printf 'start: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- 1. resolve
: "${PHP_DOCKERFILES:=$root/dockerfiles}"
export PHP_DOCKERFILES
if [ -z "${PHP_RELEASE_NOTES:-}" ] && [ -n "${STACK_RELEASE:-}" ] \
    && [ -f "$root/release-notes/$STACK_RELEASE.json" ]; then
  PHP_RELEASE_NOTES="$root/release-notes/$STACK_RELEASE.json"
  export PHP_RELEASE_NOTES
fi

set +e
# $resolve is a command line: split it into words on purpose.
# shellcheck disable=SC2086
$resolve --format env >"$env_file"
status=$?
set -e
case $status in
  0 | 16) ;;
  17) log "cannot start PHP-FPM (see above)"; exit 17 ;;
  *) log "publisher resolve failed with status $status"; exit "$status" ;;
esac

# Read the KEY=value lines back (only the names resolve writes; values verbatim).
while IFS='=' read -r key value; do
  case $key in
    PHP_DECISION | PHP_IMAGE | PHP_BUILD | PHP_VERSION | PHP_PLATFORM | PHP_DOCKERFILE | \
    PHP_BUILD_CONTEXT | PHP_BASE_IMAGE | STACK_RELEASE | PMA_IMAGE)
      eval "$key=\$value" ;;
  esac
done <"$env_file"
: "${PHP_BASE_IMAGE:=}"
log "$PHP_DECISION: $PHP_IMAGE ($PHP_PLATFORM)"

# ---------------------------------------------------------------- 2. pick an engine
engine=${STACK_ENGINE:-}
if [ -z "$engine" ]; then
  if $docker compose version >/dev/null 2>&1; then
    engine=compose
  elif command -v docker-compose >/dev/null 2>&1; then
    engine=compose
  elif $docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v buildah >/dev/null 2>&1; then
    engine=buildah
  else
    log "no container engine: install docker (with compose) or buildah"
    exit 10
  fi
fi
log "engine: $engine"

build_args() {
  if [ -n "$PHP_BASE_IMAGE" ]; then printf '%s\n' --build-arg "PHP_BASE_IMAGE=$PHP_BASE_IMAGE"; fi
  printf '%s\n' --build-arg "PUBLISHER_RELEASE=$STACK_RELEASE"
}

# ---------------------------------------------------------------- 3. start
case $engine in
  compose)
    if $docker compose version >/dev/null 2>&1; then
      compose="$docker compose"
    else
      compose=docker-compose
    fi
    if [ "$PHP_BUILD" = 1 ]; then
      PHP_PULL_POLICY=build
    else
      PHP_PULL_POLICY=missing
    fi
    export PHP_PULL_POLICY STACK_NAME="$name"
    # shellcheck disable=SC2086
    $compose --env-file "$env_file" -f "$here/compose.yaml" up -d php
    ;;

  docker)
    container="$name-php"
    if [ "$PHP_BUILD" = 1 ]; then
      # shellcheck disable=SC2046
      DOCKER_BUILDKIT=1 $docker build --platform "$PHP_PLATFORM" $(build_args) \
        -t "$PHP_IMAGE" -f "$PHP_DOCKERFILE" "$PHP_BUILD_CONTEXT"
    elif $docker image inspect "$PHP_IMAGE" >/dev/null 2>&1; then
      log "using the cached $PHP_IMAGE"
    else
      $docker pull --platform "$PHP_PLATFORM" "$PHP_IMAGE"
    fi
    $docker rm -f "$container" >/dev/null 2>&1 || true  # a restart replaces the container
    $docker run -d --name "$container" --platform "$PHP_PLATFORM" \
      -v "$here/www:/var/www/html:ro" "$PHP_IMAGE" >/dev/null
    log "started container $container"
    ;;

  buildah)
    tls=${STACK_TLS_VERIFY:-true}
    case $PHP_IMAGE in
      # containers/image refuses name:tag@digest: keep name@digest (the digest decides).
      *@*) without_digest=${PHP_IMAGE%@*}; PHP_IMAGE="${without_digest%:*}@${PHP_IMAGE##*@}" ;;
    esac
    if [ "$PHP_BUILD" = 1 ]; then
      # shellcheck disable=SC2046
      buildah build --isolation chroot --tls-verify="$tls" --platform "$PHP_PLATFORM" \
        $(build_args) -t "$PHP_IMAGE" -f "$PHP_DOCKERFILE" "$PHP_BUILD_CONTEXT"
    elif buildah inspect --type image "$PHP_IMAGE" >/dev/null 2>&1; then
      log "using the cached $PHP_IMAGE"
    else
      buildah pull --tls-verify="$tls" --platform "$PHP_PLATFORM" "$PHP_IMAGE"
    fi
    STACK_ENGINE=buildah STACK_NAME="$name" STACK_STATE_DIR="$state" "$here/stop.sh" >/dev/null 2>&1 || true
    ctr=$(buildah from --pull-never --name "$name-php" --platform "$PHP_PLATFORM" "$PHP_IMAGE")
    printf '%s\n' "$ctr" >"$state/php.container"
    # buildah has no daemon: run the image's command in the background and keep its pid.
    nohup buildah run --isolation chroot "$ctr" -- docker-php-entrypoint php-fpm \
      >"$state/php.log" 2>&1 &
    printf '%s\n' "$!" >"$state/php.pid"
    log "started $ctr (pid $(cat "$state/php.pid"), log $state/php.log)"
    ;;

  *)
    log "unknown STACK_ENGINE=$engine: use compose, docker or buildah"
    exit 2
    ;;
esac
