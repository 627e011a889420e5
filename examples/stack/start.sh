#!/bin/sh
# Start the stack's PHP-FPM with docker and compose v2 alone (no Python): the
# pre-built image of the release, pinned by digest, or a local build of the same
# Dockerfile when the pre-built image cannot be had and that is allowed.
#
#   ./start.sh                         # the default line of the pinned release
#   PHP_VERSION=8.3 ./start.sh
#   USE_PREBUILT=false ./start.sh      # always build locally
#
# Settings (environment; the same names and decisions as `publisher resolve`):
#   PHP_VERSION                 PHP line X.Y (default: the pins file's default line)
#   USE_PREBUILT                true|false (default true)
#   ALLOW_LOCAL_BUILD_FALLBACK  true|false (default true): build locally when the
#                               pre-built image cannot be had
#   PREBUILT_REGISTRY           canonical|mirror (default canonical)
#   PHP_IMAGE_REPOSITORY        pull the same digests from this repository instead
#                               (a private copy, e.g. registry.example.com/team/php-fpm)
#   PHP_IMAGE_MIRROR            the same, for PREBUILT_REGISTRY=mirror
#   PHP_IMAGE_PLATFORM          linux/amd64|linux/arm64 (default: the docker engine's,
#                               linux/arm64 on Apple Silicon)
#   PMA_IMAGE                   phpMyAdmin image, passed to compose unchanged
#   STACK_RELEASE               vX.Y.Z: refuse a pins file of another release
#   PHP_PINS_FILE               the release's pins file (default: ./php-images.env here),
#                               or a directory of vX.Y.Z.env (then STACK_RELEASE picks one)
#   PHP_DOCKERFILES             directory of <X.Y>/Dockerfile (default: ./dockerfiles here)
#   STACK_REGISTRY_TIMEOUT      seconds the registry has to answer (default 10)
#   STACK_PULL_TIMEOUT          seconds a whole pull may take (default 900)
#   STACK_NAME                  compose project name (default php-stack)
#   DOCKER                      the docker CLI (default docker)
#
# Exit status: 0 started; 17 cannot proceed (the message says what failed and what
# to do); 2 invalid setting; 3 missing or broken pins file; 10 docker or compose
# missing; 130/143 stopped by SIGINT/SIGTERM; anything else: compose failed (its
# own message above).
set -u

say() { printf 'start: %s\n' "$*" >&2; }
fail() { code=$1; shift; say "error: $*"; exit "$code"; }

case $0 in */*) here=${0%/*} ;; *) here=. ;; esac
here=$(CDPATH='' cd -- "$here" && pwd) || exit 1
docker=${DOCKER:-docker}
name=${STACK_NAME:-php-stack}

# ------------------------------------------------------------------ settings

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# bool NAME DEFAULT: the setting NAME as true/false; exit 2 when it is neither.
bool() {
  eval "value=\${$1:-}"
  # shellcheck disable=SC2154  # value is set by the eval above
  case $(lower "${value:-$2}") in
    true | 1 | yes | on) echo true ;;
    false | 0 | no | off) echo false ;;
    *) fail 2 "$1='$value' is not valid: use true or false (1/0, yes/no, on/off are accepted too)" ;;
  esac
}

# seconds NAME DEFAULT: the setting (seconds, a fraction allowed, e.g. 2.5) as ticks of
# the pull loop (0.2 s, rounded up); exit 2 unless it is a number above 0.
seconds() {
  eval "value=\${$1:-}"
  given=${value:-$2}
  case $given in
    '' | . | *[!0-9.]* | *.*.* | ??????????*) ticks=0 ;;
    *)
      whole=${given%%.*}
      whole=${whole#"${whole%%[!0]*}"}  # no leading zeros: not octal
      fraction=${given#"${given%%.*}"}
      fraction=${fraction#.}
      tenth=$(printf '%.1s' "$fraction")
      more=${fraction#?}
      case $more in *[1-9]*) more=1 ;; *) more=0 ;; esac
      ticks=$(((${whole:-0} * 10 + ${tenth:-0} + more + 1) / 2)) ;;
  esac
  [ "$ticks" -gt 0 ] || fail 2 "$1='$value' is not valid: use a number of seconds above 0, e.g. 10 or 2.5"
  echo "$ticks"
}

use_prebuilt=$(bool USE_PREBUILT true) || exit 2
allow_fallback=$(bool ALLOW_LOCAL_BUILD_FALLBACK true) || exit 2
registry_ticks=$(seconds STACK_REGISTRY_TIMEOUT 10) || exit 2
registry_timeout=${STACK_REGISTRY_TIMEOUT:-10}
pull_ticks=$(seconds STACK_PULL_TIMEOUT 900) || exit 2
pull_timeout=${STACK_PULL_TIMEOUT:-900}
case $(lower "${PREBUILT_REGISTRY:-canonical}") in
  canonical) which_registry=canonical; other_registry=mirror ;;
  mirror) which_registry=mirror; other_registry=canonical ;;
  *) fail 2 "PREBUILT_REGISTRY='$PREBUILT_REGISTRY' is not valid: use canonical or mirror" ;;
esac
# STACK_RELEASE, when set: v + a semantic version (as resolve's --release).
id='(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)'
case ${STACK_RELEASE:-} in
  '') ;;
  *[[:space:]]*) bad_release=1 ;;
  *) printf '%s\n' "$STACK_RELEASE" \
       | grep -Eq "^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-$id(\.$id)*)?\$" \
       || bad_release=1 ;;
esac
[ -z "${bad_release:-}" ] \
  || fail 2 "STACK_RELEASE='$STACK_RELEASE' is not valid: use v + a semantic version, e.g. v2.0.0 or v2.1.0-rc.1"
case ${PMA_IMAGE:-} in
  *[[:space:][:cntrl:]]*) fail 2 "PMA_IMAGE='$PMA_IMAGE' is not valid: an image reference may not contain whitespace or control characters" ;;
esac

# ------------------------------------------------------------------ the pins file

pins=${PHP_PINS_FILE:-$here/php-images.env}
if [ -d "$pins" ]; then  # a directory of vX.Y.Z.env: the one of STACK_RELEASE
  [ -n "${STACK_RELEASE:-}" ] || fail 2 "PHP_PINS_FILE names a directory ($pins), and STACK_RELEASE is not set
start: fix: set STACK_RELEASE, or point PHP_PINS_FILE at the vX.Y.Z.env file"
  pins=${pins%/}/$STACK_RELEASE.env
fi
[ -e "$pins" ] || fail 3 "$pins: pins file not found
start: fix: vendor the release's vX.Y.Z.env next to this script as php-images.env, or set PHP_PINS_FILE"
not_pins="use the pins file publisher wrote (vX.Y.Z.env), unmodified"
# A device or a pipe is never read, nor more than 1 MiB (a pins file is a few KB).
[ -f "$pins" ] || fail 3 "$pins: not a regular file, so not a pins file
start: fix: $not_pins"
size=$(wc -c <"$pins") || fail 3 "$pins: cannot read the pins file"
[ "$((size))" -le 1048576 ] || fail 3 "$pins: larger than 1 MiB, so not a pins file
start: fix: $not_pins"

# pin KEY: the value of KEY='value' in the pins file (empty when absent).
pin() { sed -n "s/^$1='\\([^']*\\)'[[:space:]]*\$/\\1/p" "$pins" | sed -n 1p; }

[ "$(pin PHP_PINS_SCHEMA)" = 1 ] \
  || fail 3 "$pins is not a pins file this launcher reads (PHP_PINS_SCHEMA='1' expected)"
release=$(pin STACK_RELEASE)
if [ -n "${STACK_RELEASE:-}" ] && [ "$STACK_RELEASE" != "$release" ]; then
  fail 3 "$pins pins release $release, not STACK_RELEASE=$STACK_RELEASE
start: fix: vendor the pins file of $STACK_RELEASE, or unset STACK_RELEASE"
fi
lines=$(pin PHP_LINES)
php=${PHP_VERSION:-$(pin PHP_DEFAULT_LINE)}
case $php in
  [0-9]*.*[0-9]) case $php in *[!0-9.]* | *.*.* | 0[0-9]* | *.0[0-9]*) bad_php=1 ;; *) bad_php= ;; esac ;;
  *) bad_php=1 ;;
esac
[ -z "$bad_php" ] || fail 2 "PHP_VERSION='$php' is not valid: use a PHP line MAJOR.MINOR, e.g. 8.4"
key=$(printf '%s' "$php" | tr . _)
canonical=$(pin PHP_REPOSITORY)
stand_in=$(pin PHP_STAND_IN)

# ------------------------------------------------------------------ docker and compose

command -v "$docker" >/dev/null 2>&1 || fail 10 "docker is not installed (the $docker command is missing)
start: fix: install Docker Desktop (macOS) or the docker engine and its compose plugin (Linux)"
"$docker" compose version >/dev/null 2>&1 || fail 10 "docker compose v2 is missing
start: fix: install the compose plugin (Docker Desktop has it; Debian/Ubuntu: docker-compose-plugin or docker-compose 2.x)"
engine=$("$docker" version --format '{{.Server.Os}}/{{.Server.Arch}}' 2>/dev/null) \
  || fail 10 "the docker engine does not answer
start: fix: start Docker Desktop, or the docker service (sudo systemctl start docker)"
platform=${PHP_IMAGE_PLATFORM:-$engine}
case $platform in
  linux/amd64 | linux/arm64) ;;
  *) fail 2 "PHP_IMAGE_PLATFORM='$platform' is not valid: use linux/amd64 or linux/arm64" ;;
esac

# ------------------------------------------------------------------ what to run

dockerfiles=${PHP_DOCKERFILES:-}
if [ -z "$dockerfiles" ]; then
  dockerfiles=$here/dockerfiles
  # In publisher's own repository the Dockerfiles sit two levels up.
  [ -d "$dockerfiles" ] || [ ! -d "$here/../../dockerfiles" ] || dockerfiles=$here/../../dockerfiles
fi
case $dockerfiles in /*) ;; *) dockerfiles=$(pwd)/$dockerfiles ;; esac
context=$dockerfiles/$php
dockerfile=$context/Dockerfile

prebuilt=$(pin "PHP_IMAGE_$key")
if [ "$which_registry" = mirror ] && [ -n "$(pin "PHP_IMAGE_MIRROR_$key")" ]; then
  prebuilt=$(pin "PHP_IMAGE_MIRROR_$key")
fi
override=${PHP_IMAGE_REPOSITORY:-}
if [ "$which_registry" = mirror ] && [ -n "${PHP_IMAGE_MIRROR:-}" ]; then
  override=$PHP_IMAGE_MIRROR
fi
if [ -n "$override" ] && [ -n "$prebuilt" ]; then
  name_tag_digest=${prebuilt##*/}
  prebuilt=$override:${name_tag_digest#*:}
fi
repository=${prebuilt%:*@*}
registry_host=${repository%%/*}
[ -n "$registry_host" ] || registry_host=${canonical%%/*}
base=$(pin "PHP_BASE_IMAGE_$key")
if [ -z "$base" ] && [ -f "$dockerfile" ]; then
  base=$(sed -n 's/^ARG[[:space:]][[:space:]]*PHP_BASE_IMAGE=\([^[:space:]]*\).*/\1/p' "$dockerfile" | sed -n 1p)
fi
# The local build's tag is keyed on its base digest (as resolve's): a pins file
# republished on a new base is a new build, never the old one reused.
local_image=localhost/${canonical#*/}:$release-php-$php
case $base in
  *@sha256:*) local_image=$local_image-base-$(printf '%.12s' "${base##*@sha256:}") ;;
esac

# ------------------------------------------------------------------ helpers

work=$(mktemp -d "${TMPDIR:-/tmp}/php-stack.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
pid=
# A pull runs in the background (for its deadline): stop it with the launcher
# (exit 130 for SIGINT, 143 for SIGTERM, as publisher's commands).
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; fi; exit 130' INT
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; fi; exit 143' TERM

# cached REF: is REF in the local image store for the platform? (no network)
cached() {
  found=$("$docker" image inspect --format '{{.Os}}/{{.Architecture}}' "$1" 2>/dev/null) || return 1
  [ "$found" != "$platform" ] || return 0
  # A multi-platform image in the containerd image store: inspect names one of its
  # platforms (the engine's when present). Docker answers for another one only by
  # creating a container for it, which --pull never keeps off the network.
  probe=$("$docker" create --pull never --platform "$platform" "$1" true 2>/dev/null) || return 1
  "$docker" rm "$probe" >/dev/null 2>&1 || true
}

# pull REF: docker pull under two deadlines (no GNU timeout needed): the registry
# must answer within $registry_timeout s, the whole pull finish within $pull_timeout s.
# Sets pull_class (available, unreachable, not-on-registry, auth-required,
# platform-missing, rate-limited, registry-error) and pull_detail.
pull() {
  log=$work/pull.log
  : >"$log"
  "$docker" pull --platform "$platform" "$1" >"$log" 2>&1 &
  pid=$!
  ticks=0
  answered=false
  timed_out=
  while kill -0 "$pid" 2>/dev/null; do
    [ -s "$log" ] && answered=true
    if [ "$answered" = false ] && [ "$ticks" -ge "$registry_ticks" ]; then
      timed_out="no answer from $registry_host within $registry_timeout s"
    elif [ "$ticks" -ge "$pull_ticks" ]; then
      timed_out="the pull did not finish within $pull_timeout s (STACK_PULL_TIMEOUT)"
    fi
    if [ -n "$timed_out" ]; then
      kill "$pid" 2>/dev/null
      break
    fi
    sleep 0.2 2>/dev/null || sleep 1
    ticks=$((ticks + 1))
    if [ $((ticks % 75)) = 0 ]; then say "still pulling $1 ($((ticks / 5)) s)"; fi
  done
  wait "$pid"
  status=$?
  pid=
  if [ -n "$timed_out" ]; then
    pull_class=unreachable
    pull_detail=$timed_out
    return 1
  fi
  if [ "$status" = 0 ]; then
    pull_class=available
    pull_detail="pulled $1"
    return 0
  fi
  pull_detail=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 | sed 's/^Error response from daemon: //')
  case $(lower "$pull_detail") in
    *"no matching manifest"*) pull_class="platform-missing" ;;
    *toomanyrequests* | *"too many requests"* | *" 429 "* | *"rate limit"*) pull_class=rate-limited ;;
    *unauthorized* | *"authentication required"* | *"no basic auth credentials"* | *denied* | *"docker login"*)
      pull_class=auth-required ;;
    *"manifest unknown"* | *"not found"* | *"name unknown"*) pull_class=not-on-registry ;;
    *"connection refused"* | *"no such host"* | *timeout* | *"timed out"* | *unreachable* | \
      *"connection reset"* | *"server misbehaving"* | *"temporary failure"* | *eof*) pull_class=unreachable ;;
    *) pull_class=registry-error ;;
  esac
  return 1
}

# problem CLASS DETAIL: sets why and advice, worded like `publisher resolve`.
problem() {
  case $1 in
    unreachable)
      why="registry $registry_host is offline or unreachable: $2"
      advice="check the network or proxy, try PREBUILT_REGISTRY=$other_registry, or point PHP_IMAGE_REPOSITORY at a registry you can reach" ;;
    not-published)
      why="PHP $php is not published for release $release ($2); published lines: ${lines:-none}"
      advice="set PHP_VERSION to a published line (${lines:-none})" ;;
    not-on-registry)
      why="$prebuilt is not on this registry (mirror not synced?): $2"
      advice="try PREBUILT_REGISTRY=$other_registry, or copy the release's digests to $repository" ;;
    auth-required)
      why="authentication required: $2"
      advice="run \`docker login $registry_host\`" ;;
    platform-missing)
      why="platform $platform missing: $2"
      case $platform in linux/amd64) other=linux/arm64 ;; *) other=linux/amd64 ;; esac
      advice="set PHP_IMAGE_PLATFORM=$other to run it under emulation" ;;
    rate-limited)
      why="registry $registry_host rate-limited the pull: $2"
      advice="wait and try again, run \`docker login $registry_host\` for a higher limit, or set PREBUILT_REGISTRY=$other_registry" ;;
    *)
      why="registry $registry_host failed: $2"
      advice="try again later, or set PREBUILT_REGISTRY=$other_registry" ;;
  esac
}

# decided DECISION AVAILABILITY WHY [FIX]: the one line tests and people read.
decided() {
  say "decision=$1 availability=$2"
  say "why: $3"
  if [ -n "${4:-}" ]; then say "fix: $4"; fi
  if [ -n "$note" ]; then say "note: $note"; fi
}

cannot_proceed() {
  decided cannot-proceed "$1" "$2" "$3"
  say "cannot start PHP-FPM (see above)"
  exit 17
}

compose() { "$docker" compose --project-name "$name" --file "$here/compose.yaml" "$@"; }

start() {  # start IMAGE BUILD(true|false)
  PHP_IMAGE=$1 PHP_PLATFORM=$platform PHP_BUILD_CONTEXT=$context PHP_BASE_IMAGE=${base:-unset}
  PHP_VERSION=$php STACK_RELEASE=$release
  export PHP_IMAGE PHP_PLATFORM PHP_BUILD_CONTEXT PHP_BASE_IMAGE PHP_VERSION STACK_RELEASE
  if [ -n "${PMA_IMAGE:-}" ]; then export PMA_IMAGE; fi
  if [ "$2" = true ]; then
    say "building $1 from $dockerfile (base ${base:-the Dockerfile default})"
    compose build php || fail $? "the local build failed (see above)"
  fi
  compose up --detach --no-build --pull never php || fail $? "docker compose could not start the stack (see above)"
  say "started $1 ($platform)"
  exit 0
}

# build_or_stop AVAILABILITY WHY ADVICE: the local build, when it can work.
build_or_stop() {
  if [ ! -f "$dockerfile" ]; then
    cannot_proceed "$1" "$2; the local build fallback is allowed, but there is no Dockerfile for PHP $php at $dockerfile" \
      "$3; or set PHP_DOCKERFILES to the directory holding <X.Y>/Dockerfile, or PHP_VERSION to a line that has one"
  fi
  if [ -n "$base" ] && ! cached "$base"; then
    # A build starts by pulling its base: find out now, not after a doomed build.
    if ! pull "$base"; then
      cannot_proceed "$1" "$2; a local build cannot work either: its base $base is not in the local image store and cannot be pulled ($pull_class: $pull_detail)" \
        "$3; or pull $base (or the pre-built image) once while online"
    fi
  fi
}

# ------------------------------------------------------------------ decide

[ "$stand_in" = true ] && say "STAND-IN images from an offline rehearsal, not PHP"
note=
if [ "$use_prebuilt" = true ] && [ "$which_registry" = mirror ] \
  && [ -z "$(pin PHP_MIRROR_REPOSITORY)" ] && [ -z "${PHP_IMAGE_MIRROR:-}" ]; then
  note="PREBUILT_REGISTRY=mirror, but the pins file names no mirror (a release on one registry) and PHP_IMAGE_MIRROR is not set: the images come from ${override:-$canonical}"
fi

if [ "$use_prebuilt" = false ]; then
  if [ ! -f "$dockerfile" ]; then
    cannot_proceed none "USE_PREBUILT=false, but there is no Dockerfile for PHP $php at $dockerfile" \
      "set PHP_DOCKERFILES to the directory holding <X.Y>/Dockerfile, or PHP_VERSION to a line that has one"
  fi
  build_or_stop none "USE_PREBUILT=false" "set USE_PREBUILT=true to use the pre-built image"
  decided build-locally none "USE_PREBUILT=false: building $local_image locally from $dockerfile"
  start "$local_image" true
fi

# The pre-built image: from the pins, the local image store, then the registry.
class=
if [ -z "$prebuilt" ]; then
  class=not-published
  detail="the pins file $pins lists no PHP $php image"
else
  platforms=$(pin "PHP_PLATFORMS_$key")
  case " $platforms " in
    *" $platform "*) ;;
    *) class="platform-missing"
       detail="$prebuilt has no $platform image (it has: ${platforms:-none}; pins file)" ;;
  esac
fi
if [ -z "$class" ]; then
  if cached "$prebuilt"; then
    decided use-prebuilt cached "pre-built image $prebuilt is in the local image store (no registry request) for $platform"
    start "$prebuilt" false
  fi
  say "pulling $prebuilt for $platform (the registry has $registry_timeout s to answer)"
  if pull "$prebuilt"; then
    decided use-prebuilt available "pre-built image $prebuilt is available for $platform"
    start "$prebuilt" false
  fi
  class=$pull_class
  detail=$pull_detail
fi

problem "$class" "$detail"
if [ "$allow_fallback" = false ]; then
  if [ -f "$dockerfile" ]; then
    fix="$advice; or set ALLOW_LOCAL_BUILD_FALLBACK=true to build locally from $dockerfile"
  else
    fix="$advice; or, to build locally, set ALLOW_LOCAL_BUILD_FALLBACK=true and PHP_DOCKERFILES to the directory holding <X.Y>/Dockerfile (there is no Dockerfile for PHP $php at $dockerfile)"
  fi
  cannot_proceed "$class" "$why; the local build fallback is disabled (ALLOW_LOCAL_BUILD_FALLBACK=false)" "$fix"
fi
build_or_stop "$class" "$why" "$advice"
if cached "$local_image"; then
  decided build-locally "$class" "$why; using the local build $local_image from an earlier start (ALLOW_LOCAL_BUILD_FALLBACK=true; remove it to rebuild)"
  start "$local_image" false
fi
decided build-locally "$class" "$why; falling back to a local build of $local_image from $dockerfile (ALLOW_LOCAL_BUILD_FALLBACK=true)"
start "$local_image" true
