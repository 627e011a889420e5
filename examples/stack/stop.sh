#!/bin/sh
# Stop what ./start.sh started (same STACK_NAME): its containers and network. Needs docker
# and compose v2. Exit status: 0 stopped (or nothing to stop); 2 an invalid STACK_NAME or an argument;
# 10 docker missing; 11 docker compose failed (its message above, then what to do);
# 130/143 stopped by SIGINT/SIGTERM.
set -u
case ${1-} in
  -h | --help)  # alone: --help with more is refused below, as any argument
    if [ "$#" -eq 1 ]; then
      sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^#//' -e 's/^ //'
      exit 0
    fi
    shift ;;
esac
if [ "$#" -gt 0 ]; then  # its one setting is STACK_NAME: an argument would be ignored
  printf '%s\n' "stop: error: stop.sh takes no arguments ('$1' given)" \
    "stop: usage: [STACK_NAME=name] ./stop.sh, or ./stop.sh --help" \
    "stop: fix: name another stack with STACK_NAME, e.g. STACK_NAME=other ./stop.sh" >&2
  exit 2
fi
docker=${DOCKER:-docker}
# STACK_NAME as start.sh reads it: the blanks around it (the CR of an env file edited on
# Windows) do not count; ASCII ones alone (space, tab, LF, CR, VT, FF), in every shell and locale.
blanks=$(printf ' \t\n\r\v\f.') blanks=${blanks%.}
name=${STACK_NAME:-}
name=${name#"${name%%[!"$blanks"]*}"}
name=${name%"${name##*[!"$blanks"]}"}
name=${name:-php-stack}
lower=abcdefghijklmnopqrstuvwxyz0123456789  # spelled out: a range may take in capitals in some locales
case $name in
  [$lower]*) case $name in *[!"$lower"_-]*) bad=1 ;; *) bad= ;; esac ;;
  *) bad=1 ;;
esac
if [ -n "$bad" ]; then  # named as start.sh names it: without its blanks, quoted as resolve quotes it
  shown=$(printf '%s' "$name" | sed 's/\\/\\\\/g')
  case $shown in
    *\'*) case $shown in *'"'*) shown="'$(printf '%s' "$shown" | sed "s/'/\\\\'/g")'" ;; *) shown="\"$shown\"" ;; esac ;;
    *) shown="'$shown'" ;;
  esac
  printf '%s\n' "stop: error: STACK_NAME=$shown is not valid: use lowercase letters, digits, '-' and '_', starting with a letter or digit (a compose project name)" \
    "stop: fix: correct the environment variable STACK_NAME" >&2
  exit 2
fi
if ! command -v "$docker" >/dev/null 2>&1; then
  printf '%s\n' "stop: error: docker is not installed (the $docker command is missing)" \
    "stop: fix: install Docker Desktop (macOS) or the docker engine and its compose plugin (Linux)" >&2
  exit 10
fi
"$docker" compose --project-name "$name" down && exit 0
status=$?
[ "$status" -lt 128 ] || exit "$status"  # stopped by a signal: said by the shell
printf '%s\n' "stop: error: docker compose could not stop the stack $name (exit status $status; what it said is above)" \
  "stop: fix: start Docker Desktop or the docker service if it is not running (\`$docker version\` says); \`$docker compose ls --all\` lists the stacks it knows" >&2
exit 11
