#!/bin/sh
# Stop what ./start.sh started (same STACK_NAME): its containers with their anonymous volumes
# (an image's VOLUME, which no later start takes again) and its network; a named volume stays.
#
#   ./stop.sh                    # the stack ./start.sh started (STACK_NAME php-stack)
#   STACK_NAME=other ./stop.sh   # the one STACK_NAME=other ./start.sh started
#
# Needs docker and compose v2, and start.sh next to it (it reads start.sh's helpers, to say
# what start.sh says). Settings: STACK_NAME, DOCKER, and STACK_COMPOSE_TIMEOUT (seconds compose
# rm, then compose down, may each take, default 60), as start.sh reads them. Exit status: 0
# stopped (or nothing to stop); 2 an invalid setting or an argument; 10 docker or compose
# missing (or DOCKER naming no executable file, or a docker config folder docker may not read,
# which makes it load no plugin), or the docker engine does not answer (within
# 10 s; compose rm and down each within STACK_COMPOSE_TIMEOUT), refuses this user, or went away
# while compose ran, as start.sh says it; 11 docker compose failed
# (its message above, then what to do); 17 no start.sh next to it (or TMPDIR not writable, or
# one another user could swap its folders in: theirs, or writable by all without the sticky bit,
# or in such a folder, or reached through another user's symbolic link);
# 130/143/129/141 stopped by SIGINT/SIGTERM/SIGHUP/SIGPIPE.
case $({ sed 1q <"$0"; } 2>/dev/null | tr -dc '\015' | wc -c) in *[1-9]*) printf '%s\n' "stop: error: $0 has CRLF (Windows) line ends, which sh cannot run (a checkout with git's core.autocrlf=true?)" "stop: fix: give start.sh and stop.sh LF line ends (dos2unix start.sh stop.sh), and keep them so: '*.sh text eol=lf' in the .gitattributes of the repository that holds them" >&2; exit 17 ;; esac  # the header ends: CRLF line ends said, not sh's "set: Illegal option -" (this comment takes the CR)
set -u
[ -z "${ZSH_VERSION:-}" ] || emulate sh  # zsh stop.sh: read as sh, as start.sh
case ${1-} in
  -h | --help)  # alone: --help with more is refused below, as any argument
    if [ "$#" -eq 1 ]; then
      sed -n '2,/^[^#]/p' "$0" | sed -e '$d' -e 's/^#//' -e 's/^ //'
      exit 0
    fi
    shift ;;
esac
# Its own words go to stderr as start.sh's say writes them: one that cannot be written
# (2>/dev/full) loses them alone, the shell's word for it sent to /dev/null (zsh would end).
if [ "$#" -gt 0 ]; then  # its settings are environment variables: an argument would be ignored
  printf '%s\n' "stop: error: stop.sh takes no arguments ('$1' given)" \
    "stop: usage: [STACK_NAME=name] ./stop.sh, or ./stop.sh --help" \
    "stop: fix: name another stack with STACK_NAME, e.g. STACK_NAME=other ./stop.sh" >&2 2>/dev/null
  exit 2
fi
# start.sh next to this script, also when it is run through a symlink to it.
script=$0 hops=0
while [ -h "$script" ] && [ "$hops" -lt 40 ] && target=$(readlink -- "$script" 2>/dev/null); do
  case $target in
    /*) script=$target ;;
    *)  # relative to the link's folder as the system reads it (cd -P): a plain cd would take
      # the .. of ln/../x back through a symlinked folder ln instead of from where it points
      case $script in */*) link_dir=${script%/*} ;; *) link_dir=. ;; esac
      link_dir=$(CDPATH='' cd -P -- "${link_dir:-/}" 2>/dev/null && pwd -P) || break
      script=${link_dir%/}/$target ;;
  esac
  hops=$((hops + 1))
done
# ./start.sh, not start.sh: `.` looks for a name without a slash on PATH, not here.
case $script in */*) start=${script%/*}/start.sh ;; *) start=./start.sh ;; esac
# An older start.sh would run a whole start when read: only one that stops after its helpers.
if [ ! -f "$start" ] || [ ! -r "$start" ]; then
  said="$start cannot be read"
elif ! grep -q stack_helpers_for "$start"; then
  said="$start is of an older publisher version than stop.sh"
fi
if [ -n "${said:-}" ]; then
  printf '%s\n' "stop: error: $said: stop.sh reads the start.sh it came with, next to it" \
    "stop: fix: vendor start.sh and stop.sh together, from the same publisher version" >&2 2>/dev/null
  exit 17
fi
# STACK_NAME, the docker CLI and a refused value are read and said as start.sh says them.
# shellcheck disable=SC2034  # read by start.sh: its helpers, and no more, speaking as stop
stack_helpers_for=stop
# shellcheck source=/dev/null  # start.sh, checked on its own
. "$start"
stack_name
compose_deadline  # STACK_COMPOSE_TIMEOUT: how long compose rm, then down, may take (default 60 s)
docker_or_fail  # sets $docker
engine_or_fail  # compose and an engine that answers (within 10 s), as start.sh asks
# compose rm --volumes first: down alone leaves the anonymous volume of each container (an
# image's VOLUME), which a later start never takes again, and down -v would remove the named
# volumes too (a database's data). rm takes every container of the project, a profile's
# (phpMyAdmin) too; down then removes the network. Each stopped at STACK_COMPOSE_TIMEOUT (exit
# 10) when the engine stops answering; rm's list of what it removes (stdout) is not said, nor
# its "No stopped containers" when there are none (down then says there is nothing to remove):
# what else it says (stderr) shows as it comes, through a FIFO.
filter=
# shellcheck disable=SC2154  # work: the run's work folder, made by engine_or_fail
if mkfifo "$work/rm.err" 2>/dev/null; then
  LC_ALL=C sed '/^No stopped containers$/d' <"$work/rm.err" >&2 &
  filter=$!
  compose_within rm --stop --force --volumes >/dev/null 2>"$work/rm.err"
else
  compose_within rm --stop --force --volumes >/dev/null
fi
stop_status=$?
if [ -n "$filter" ]; then wait "$filter"; fi
if [ "$stop_status" = 0 ]; then
  compose_within down && exit 0
  stop_status=$?
fi
[ "$stop_status" -lt 128 ] || exit "$stop_status"  # stopped by a signal: said by the shell
engine_answers  # the engine gone in the middle of it: exit 10 with its fix, as start.sh says it
# shellcheck disable=SC2154  # project_name, docker: set by stack_name and docker_or_fail
printf '%s\n' "stop: error: docker compose could not stop the stack $project_name (exit status $stop_status; what it said is above)" \
  "stop: fix: \`$docker compose ls --all\` lists the stacks the engine knows, and \`$docker compose --project-name $project_name rm --stop --force --volumes && $docker compose --project-name $project_name down\` stops this one by hand" >&2 2>/dev/null
exit 11
