#!/bin/sh
# Start the stack's PHP-FPM with docker and compose v2 alone (no Python): the
# pre-built image of the release, pinned by digest, or a local build of the same
# Dockerfile when the pre-built image cannot be had and that is allowed.
#
#   ./start.sh                         # the default line of the pinned release
#   PHP_VERSION=8.3 ./start.sh
#   USE_PREBUILT=false ./start.sh      # always build locally
#   PMA_IMAGE=phpmyadmin:5.2 ./start.sh  # phpMyAdmin too (compose pulls it when not here)
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
#   PHP_IMAGE_PLATFORM          linux/amd64|linux/arm64 (default: DOCKER_DEFAULT_PLATFORM
#                               when set, as docker takes it; else the docker engine's,
#                               linux/arm64 on Apple Silicon)
#   PMA_IMAGE                   phpMyAdmin image, passed to compose as given (blanks around it
#                               aside); whitespace, a control character, a quote, a
#                               backslash or '#' is refused (no image reference holds one)
#   STACK_RELEASE               vX.Y.Z: refuse a pins file of another release
#   PHP_PINS_FILE               the release's pins file (default: ./php-images.env here),
#                               or a directory of vX.Y.Z.env (then STACK_RELEASE picks one)
#   PHP_DOCKERFILES             directory of <X.Y>/Dockerfile (default: ./dockerfiles here)
#   STACK_REGISTRY_TIMEOUT      seconds the registry has to answer (default 10, at most 60;
#                               resolve takes it too when RESOLVE_TIMEOUT is not set)
#   STACK_PULL_TIMEOUT          seconds a whole pull may take (default 900), and compose up
#                               (which may pull phpMyAdmin)
#   STACK_COMPOSE_TIMEOUT       seconds compose ps, logs and rm may take (default 60)
#   PHP_IMAGE_CACHE_CHECK       true|false (default true): false asks the registry for the
#                               pre-built image and the base even when they are here (a base
#                               its registry cannot give is still built on from here)
#   STACK_NAME                  compose project name (default php-stack)
#   DOCKER                      the docker CLI, a path or a command on PATH (default docker;
#                               blanks around it aside)
#
# Exit status: 0 started (and still running 2 s on); 17 cannot proceed (the message says what
# failed and what to do; also a PHP-FPM that stopped as soon as it started, or a lock of this stack another user holds that no start touches for a minute); 2 invalid setting (or an argument: there are none but --help, alone); 3 missing or broken pins file; 10 docker or compose
# missing (DOCKER naming no executable file; compose older than 2.8.0; a docker config folder
# docker may not read, which makes it load no plugin), or the docker engine does not answer (within 10 s), refuses this user, or
# went away during a pull, a lookup, the build or compose up, or left compose up waiting past
# STACK_PULL_TIMEOUT (ps, logs: STACK_COMPOSE_TIMEOUT);
# 11 docker compose failed to build or start it (its last line and what to do follow);
# 130/143/129/141 stopped by SIGINT/SIGTERM/SIGHUP/SIGPIPE (a closed stderr, 2>&-, one that
# cannot be written, 2>/dev/full, or a SIGPIPE the caller ignores only loses the messages).
# stderr has one `start: decision=` line: decision=use-prebuilt|build-locally|cannot-proceed
# availability=CLASS, or, stopped before deciding, decision=none error=invalid-input (2),
# pins-file (3), docker-unavailable (10) or file-access (17: TMPDIR not writable, or one
# another user could swap what the launcher makes there in: theirs, or writable by every user
# without the sticky bit, or in such a folder, or reached through another user's symbolic
# link; or the current directory removed under a relative PHP_PINS_FILE or
# PHP_DOCKERFILES, or no compose.yaml next to start.sh, or a copy with CRLF line ends).
case $({ sed 1q <"$0"; } 2>/dev/null | tr -dc '\015' | wc -c) in *[1-9]*) printf '%s\n' "start: decision=none error=file-access" "start: error: $0 has CRLF (Windows) line ends, which sh cannot run (a checkout with git's core.autocrlf=true?)" "start: fix: give start.sh and stop.sh LF line ends (dos2unix start.sh stop.sh), and keep them so: '*.sh text eol=lf' in the .gitattributes of the repository that holds them" >&2; exit 17 ;; esac  # the header ends: CRLF line ends said, not sh's "set: Illegal option -" (this comment takes the CR)
set -u
# zsh start.sh: read as sh (zsh's own path and status, which PATH and $? are, are not
# used as variables here either).
[ -z "${ZSH_VERSION:-}" ] || emulate sh
# A stderr the caller closed (./start.sh 2>&-) is opened on /dev/null: its messages are lost,
# as publisher's are, and nothing else changes (tee, which copies compose's output to it,
# fails on a closed one; docker and compose, Go programs, open /dev/null themselves).
( : >&2 ) || exec 2>/dev/null

# me: who speaks: start, or stop when stop.sh reads the helpers below (and no more) from this
# file, to say what start.sh says in the same words.
me=start
[ -z "${stack_helpers_for:-}" ] || me=stop
# A control character but LF (a CR in a path would make a terminal overwrite the line) is
# written escaped, as resolve writes it: \t, \r, else \xNN.
controls=$(printf '\001\002\003\004\005\006\007\010\011\013\014\015\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037\177')
# A stderr that cannot be written (2>/dev/full) loses the message alone: the shell's own word
# for it goes to /dev/null (zsh ends a script when it cannot say it, exit 1).
say() {
  case $* in
    *[$controls]*) printf '%s: %s\n' "$me" "$(utf8 shown "$*")" >&2 2>/dev/null ;;
    *) printf '%s: %s\n' "$me" "$*" >&2 2>/dev/null ;;
  esac
}
# The blanks around a setting that do not count (space, tab, LF, CR, VT, FF): ASCII ones, as
# resolve reads them, in every shell and locale ([:space:] takes an em space in bash or zsh
# under a UTF-8 locale, and not in dash). A Unicode space is part of the value.
blanks=$(printf ' \t\n\r\v\f.') blanks=${blanks%.}
# utf8 MODE TEXT: TEXT read a character at a time as resolve reads it (UTF-8; a byte that
# is not part of valid UTF-8 is a character of its own). MODE escape: TEXT with each such
# byte written \xff (printable); MODE repr: TEXT whole up to 60 characters, else its first
# 57 and "...", quoted as resolve quotes a value it
# refuses (Python's repr: '...', or "..." for a value holding ' and no "; a backslash
# doubled, \t \n \r, a control character or an invisible one as \xNN, \uNNNN or
# \UNNNNNNNN: a no-break space, a zero-width one, a bidirectional mark; a byte that is not
# UTF-8 as \xff); MODE quoted: the same, whole however long (a path); MODE shown: as escape,
# and a control character but LF written \t, \r or \xNN (what say writes); MODE spaced: 1 when
# TEXT holds whitespace or a control character as resolve reads them (Python's isspace: a
# no-break space, an em space too), else nothing.
# awk writes ASCII alone (a backslash doubled, a byte above 127 as \0ooo) and printf %b the
# bytes: BWK awk's second edition (2023 on; macOS may ship it) writes printf "%c" of a
# byte above 127 as that code point in UTF-8 (under a UTF-8 locale; before its 2023-10-30
# fix, under LC_ALL=C too), which would write an accent or an emoji twice encoded.
utf8() {
  escaped=$(printf '%s' "$2" | od -An -v -tu1 | LC_ALL=C awk -v mode="$1" '
    BEGIN { quoted = mode == "repr" || mode == "quoted" }
    # hidden CP: a character Python does not print as it is (categories Cc, Cf, Co, Z but
    # the space; a code point no Unicode version assigns yet is shown as it is here).
    function hidden(cp) {
      return cp < 32 || (cp >= 127 && cp <= 160) || cp == 173 || (cp >= 1536 && cp <= 1541) \
        || cp == 1564 || cp == 1757 || cp == 1807 || cp == 2192 || cp == 2193 || cp == 2274 \
        || cp == 5760 || cp == 6158 || (cp >= 8192 && cp <= 8207) || (cp >= 8232 && cp <= 8239) \
        || (cp >= 8287 && cp <= 8303) || cp == 12288 || (cp >= 57344 && cp <= 63743) \
        || cp == 65279 || (cp >= 65529 && cp <= 65531) || cp == 65534 || cp == 65535 \
        || cp == 69821 || cp == 69837 || (cp >= 78896 && cp <= 78904) \
        || (cp >= 113824 && cp <= 113827) || (cp >= 119155 && cp <= 119162) \
        || (cp >= 917504 && cp <= 917631) || cp >= 983040
    }
    # code U: the code point of the valid character U (of size[U] bytes from start[U]).
    function code(u,   c, cp, k) {
      c = b[start[u]]
      if (size[u] == 1) return c
      cp = size[u] == 2 ? c - 192 : size[u] == 3 ? c - 224 : c - 240
      for (k = 1; k < size[u]; k++) cp = cp * 64 + b[start[u] + k] - 128
      return cp
    }
    # spacing CP: whitespace or a control character to Python (isspace, below 32, 127).
    function spacing(cp) {
      return cp <= 32 || cp == 127 || cp == 133 || cp == 160 || cp == 5760 \
        || (cp >= 8192 && cp <= 8202) || cp == 8232 || cp == 8233 || cp == 8239 || cp == 8287 \
        || cp == 12288
    }
    { for (i = 1; i <= NF; i++) b[n++] = $i + 0 }
    END {
      i = 0; units = 0
      while (i < n) {
        c = b[i]; lo = 128; hi = 191; need = 0
        if (c >= 194 && c <= 223) need = 1
        else if (c == 224) { need = 2; lo = 160 }
        else if (c == 237) { need = 2; hi = 159 }
        else if (c >= 225 && c <= 239) need = 2
        else if (c == 240) { need = 3; lo = 144 }
        else if (c == 244) { need = 3; hi = 143 }
        else if (c >= 241 && c <= 243) need = 3
        ok = c >= 128 && need > 0 && i + need < n
        for (k = 1; ok && k <= need; k++) {
          if (b[i + k] < lo || b[i + k] > hi) ok = 0
          lo = 128; hi = 191
        }
        start[units] = i; size[units] = ok ? need + 1 : 1; bad[units] = c >= 128 && !ok
        i += size[units++]
      }
      if (mode == "spaced") {  # prints 1 when TEXT holds whitespace or a control character
        for (u = 0; u < units; u++) if (!bad[u] && spacing(code(u))) { printf "1"; exit }
        exit
      }
      end = units
      if (mode == "repr" && units > 60) end = 57
      quote = ""
      if (quoted) {
        single = 0; double = 0
        for (u = 0; u < end; u++) {
          if (b[start[u]] == 39) single = 1
          if (b[start[u]] == 34) double = 1
        }
        quote = single && !double ? "\"" : "\047"
        printf "%s", quote
      }
      for (u = 0; u < end; u++) {
        c = b[start[u]]
        if (bad[u]) { printf "\\\\x%02x", c; continue }
        if (mode == "shown" && ((c < 32 && c != 10) || c == 127)) {
          if (c == 9) printf "\\\\t"
          else if (c == 13) printf "\\\\r"
          else printf "\\\\x%02x", c
          continue
        }
        if (quoted) {
          cp = code(u)
          if (cp == 92) { printf "\\\\\\\\"; continue }
          if (cp == 39 && quote == "\047") { printf "\\\\\047"; continue }
          if (cp == 9) { printf "\\\\t"; continue }
          if (cp == 10) { printf "\\\\n"; continue }
          if (cp == 13) { printf "\\\\r"; continue }
          if (hidden(cp)) {
            if (cp < 256) printf "\\\\x%02x", cp
            else if (cp < 65536) printf "\\\\u%04x", cp
            else printf "\\\\U%08x", cp
            continue
          }
        }
        for (k = 0; k < size[u]; k++) {
          x = b[start[u] + k]
          if (x >= 128) printf "\\0%03o", x
          else if (x == 92) printf "\\\\"
          else printf "%c", x
        }
      }
      if (end < units) printf "..."
      printf "%s", quote
    }')
  printf '%b' "$escaped"
}
# ascii TEXT: whether TEXT is ASCII alone (no more than tr is needed to show it).
ascii() { [ "$(printf '%s' "$1" | LC_ALL=C tr -d '\000-\177' | wc -c)" -eq 0 ]; }
# printable TEXT: TEXT with each byte that is not part of valid UTF-8 written \xff, as resolve
# (and every publisher command) writes it in an error; valid UTF-8 as it is.
printable() {
  if ascii "$1"; then printf '%s' "$1"; else utf8 escape "$1"; fi
}
# Every run of start.sh says one decision= line a script can read: a stop before any decision
# says decision=none and a word for what went wrong (resolve says the same words). stop.sh
# decides nothing, and says no such line.
decision_said=
fail() {
  code=$1
  shift
  if [ -z "$decision_said" ] && [ "$me" = start ]; then
    case $code in
      2) say "decision=none error=invalid-input" ;;
      3) say "decision=none error=pins-file" ;;
      10) say "decision=none error=docker-unavailable" ;;
      *) say "decision=none error=file-access" ;;  # 17: a file or folder it cannot use
    esac
  fi
  say "error: $(printable "$*")"
  exit "$code"
}

# invalid NAME VALUE ACCEPTED: exit 2 for the setting NAME, in resolve's words (its tip too):
# VALUE as resolve shows a value it refuses, whole up to 60 characters, else its first 57 and
# "...", quoted as Python's repr quotes it (utf8 repr: a byte that is not UTF-8 counts as one
# character, written \xff; an invisible character is written as an escape).
invalid() {
  iv_shown=$(utf8 repr "$2")
  fail 2 "$1=$iv_shown is not valid: $3
$me: fix: correct the environment variable $1"
}

# matches TEXT ERE: is TEXT (one line) matched whole by ERE, byte by byte?
matches() {
  case $1 in *'
'*) return 1 ;; esac
  printf '%s\n' "$1" | LC_ALL=C grep -Eqx -e "$2"
}

# trim TEXT: TEXT without the blanks around it (the CR of an env file edited on Windows).
trim() {
  set -- "${1#"${1%%[!"$blanks"]*}"}"
  printf '%s' "${1%"${1##*[!"$blanks"]}"}"
}

# stack_name: STACK_NAME (its blanks aside; default php-stack) as $project_name, a compose
# project name; exit 2 for one compose would refuse (start.sh checks it before any pull or
# build, stop.sh before asking compose).
stack_name() {
  project_name=$(trim "${STACK_NAME:-}")
  project_name=${project_name:-php-stack}
  matches "$project_name" '[a-z0-9][a-z0-9_-]*' \
    || invalid STACK_NAME "$project_name" "use lowercase letters, digits, '-' and '_', starting with a letter or digit (a compose project name)"
}

# docker_or_fail: exit 10 unless the docker CLI ($docker: DOCKER, else docker on PATH) is a
# command this user may run. DOCKER is read as the other settings are: the blanks around it
# do not count (the CR of an env file edited on Windows), and blank it is unset. A DOCKER
# that names none is said to be one, with its value: no advice to install docker, which may
# well be installed.
docker_or_fail() {
  DOCKER=$(trim "${DOCKER:-}")
  docker=${DOCKER:-docker}
  if [ -z "$DOCKER" ]; then
    command -v docker >/dev/null 2>&1 || fail 10 "docker is not installed (the docker command is missing)
$me: fix: install Docker Desktop (macOS) or the docker engine and its compose plugin (Linux)"
    return 0
  fi
  case $DOCKER in
    */*) dk_found=$DOCKER ;;
    *) dk_found=$(command -v "$DOCKER" 2>/dev/null) || dk_found= ;;  # on PATH (or a shell builtin)
  esac
  case $dk_found in
    '') dk_why="no command of that name is on PATH" ;;
    */*)
      if [ -d "$dk_found" ]; then dk_why="it is a directory"
      elif [ ! -e "$dk_found" ]; then dk_why="there is no such file"
      elif [ ! -f "$dk_found" ]; then dk_why="it is not a regular file"
      elif [ ! -x "$dk_found" ]; then dk_why="this user may not execute it"
      else return 0
      fi ;;
    *) return 0 ;;
  esac
  fail 10 "DOCKER=$(utf8 quoted "$DOCKER") is not an executable file: $dk_why
$me: fix: set DOCKER to the docker CLI's path (\`command -v docker\` names the one on PATH), or unset DOCKER to run docker from PATH"
}

# config_unreadable: exit 10 when docker may not read its config folder, or what it reads in
# it (a ~/.docker that a root run with this user's HOME left root's, mode 0700, as `sudo -E`
# does): docker then loads none of its plugins, and compose, though installed, is a command it
# does not know. docker 27 and later say so (WARNING: Error loading config file: ...:
# permission denied), in the words said here; docker 26 says nothing of it.
config_unreadable() {
  cu_folder=${DOCKER_CONFIG:-${HOME:-}/.docker}
  cu_path=
  for cu_found in "$cu_folder" "$cu_folder/config.json" "$cu_folder/cli-plugins"; do
    if [ -e "$cu_found" ] && { [ ! -r "$cu_found" ] || { [ -d "$cu_found" ] && [ ! -x "$cu_found" ]; }; }; then
      cu_path=$cu_found
      break
    fi
  done
  cu_said=$(LC_ALL=C grep -i 'error loading config file' "$work/compose.err" 2>/dev/null \
    | LC_ALL=C grep -i 'permission denied' | sed -n 1p)
  [ -n "$cu_path$cu_said" ] || return 0
  owned "${cu_path:-$cu_folder}"
  if [ -z "$cu_path" ] || [ "$cu_path" = "$cu_folder" ]; then
    cu_what="its config folder $cu_folder"
  else
    cu_what="$cu_path in its config folder"
  fi
  cu_why=
  [ "$of_owner" != root ] || cu_why=" (a root run with this user's HOME, such as sudo -E, leaves it root's)"
  fail 10 "docker cannot read $cu_what (user $of_owner's, $of_mode), so it loads none of its plugins, compose neither${cu_said:+: ${cu_said#WARNING: }}
$me: fix: give the folder back to this user: sudo chown -R \"\$USER\" \"$cu_folder\"$cu_why"
}
# owned PATH: PATH's owner (a name, or the uid of one that has none) and mode as `ls -ld`
# shows them (drwxrwxrwt), as $of_owner and $of_mode; a link's own, not its target's.
owned() {
  # shellcheck disable=SC2012  # ls: owner and mode as people read them, on every system
  of_ls=$(LC_ALL=C ls -ld -- "$1" 2>/dev/null | sed -n 1p)
  of_mode=$(printf '%.10s' "${of_ls%% *}")  # without ls's mark of an ACL (+, @, .)
  of_owner=$(printf '%s\n' "$of_ls" | awk '{ print $3 }')
}
# own_tmpdir: how to start with a TMPDIR no other user may write to.
# shellcheck disable=SC2016  # $HOME as the user types it
own_tmpdir='mkdir -p -m 700 "$HOME/.cache/php-stack-tmp" && TMPDIR="$HOME/.cache/php-stack-tmp" ./start.sh'
# tmpdir_or_fail: exit 17 for a TMPDIR in which another user may rename what the launcher makes
# there (its work folder, its lock) and put a link to this user's files in its place, which
# the launcher would then write through: one that user owns (not this user, not root), or one
# every user may write to without the sticky bit (/tmp has it: there only an entry's owner,
# the folder's or root may rename the entry), or such a folder above it, or a symbolic link
# on the way that another user owns (they may point it elsewhere), as publisher refuses it.
# Each folder from TMPDIR up to / is looked at, as written and as its links lead (macOS's /tmp
# is root's link to /private/tmp); the uppermost found is named.
tmpdir_or_fail() {
  td_shown=${tmp_dir:-/}
  # shellcheck disable=SC2016  # $HOME as the user types it
  td_own='set TMPDIR to a folder of your own (mkdir -p -m 700 "$HOME/.cache/php-stack-tmp", then TMPDIR="$HOME/.cache/php-stack-tmp")'
  [ -z "${TMPDIR:-}" ] || td_own="$td_own, or unset TMPDIR"
  td_real=$(CDPATH='' cd -P -- "$td_shown" 2>/dev/null && pwd -P) || td_real=
  td_found=
  for td_chain in written real; do
    td_at=$tmp_dir
    if [ "$td_chain" = real ]; then
      [ "$td_real" != "$tmp_dir" ] || break
      td_at=$td_real
    fi
    case $td_at in /*) ;; *) continue ;; esac  # a relative TMPDIR: as its links lead alone
    while [ -n "$td_at" ]; do
      if [ -n "$(find "$td_at" -prune \( -type l ! -user "$uid" ! -user 0 \) -o \( ! -type l \
        \( \( ! -user "$uid" ! -user 0 \) -o \( -perm -0002 ! -perm -1000 \) \) \) 2>/dev/null)" ]; then
        td_found=$td_at
      fi
      td_at=${td_at%/*}
    done
    [ -z "$td_found" ] || break
  done
  [ -n "$td_found" ] || return 0
  owned "$td_found"
  if [ "$td_found" = "$tmp_dir" ]; then td_what="TMPDIR $td_shown"
  elif [ "$td_found" = "$td_real" ]; then td_what="TMPDIR $td_shown (a link to $td_real)"
  else td_what="TMPDIR $td_shown is in $td_found, which"
  fi
  td_swap="swap the folders the launcher makes there for links to this user's files, which it would then write"
  if [ -h "$td_found" ]; then
    fail 17 "$td_what is a symbolic link of user $of_owner's: that user could point it at a folder of theirs and $td_swap
$me: fix: $td_own"
  fi
  if [ -n "$(find "$td_found" -prune ! -user "$uid" ! -user 0 2>/dev/null)" ]; then
    fail 17 "$td_what is user $of_owner's ($of_mode), neither this user's nor root's: that user could $td_swap
$me: fix: $td_own"
  fi
  fail 17 "$td_what may be written by every user and has no sticky bit ($of_mode): another user could $td_swap
$me: fix: give it the sticky bit, as /tmp has (chmod +t \"$td_found\", by its owner or root), or $td_own"
}

# engine_or_fail: a temporary folder ($work, removed on exit), the docker CLI, compose v2 and
# an engine that answers, as $engine_platform; else exit 10 (17 for the folder) with what is
# wrong and its fix. start.sh asks before deciding, stop.sh before compose down.
engine_or_fail() {
# TMPDIR without the slashes it may end in (macOS's does): the launcher's paths in it are
# named with no '//'.
tmp_dir=${TMPDIR:-/tmp}
while [ "${tmp_dir%/}" != "$tmp_dir" ]; do tmp_dir=${tmp_dir%/}; done
uid=$(id -u 2>/dev/null) || uid=
tmpdir_or_fail
# mktemp's own words (GNU, BSD and busybox differ) are not said: its reason ends the error.
# Named after this run's pid: one a run killed outright (kill -9) cannot remove is found below.
work=$(mktemp -d "$tmp_dir/php-stack.$$.XXXXXX" 2>&1) \
  || fail 17 "cannot create a temporary folder in ${tmp_dir:-/} (TMPDIR): ${work##*: }
$me: fix: set TMPDIR to a writable folder, or unset it"
trap 'rm -rf "$work"' EXIT
# The work folders of runs whose pid runs no more go, once untouched for a day (find's
# -mtime +0, in every find): a pid kill -0 finds nowhere may be a running start's in another
# pid namespace sharing TMPDIR (a dev container's /tmp, NFS), and a running start touches its
# folder about every 10 minutes (nap). A folder this user may not remove (another user's, in a
# shared /tmp) stays as it is.
for dead in "$tmp_dir"/php-stack.*.*; do
  dead_pid=${dead##*/php-stack.}
  case $dead_pid in *.??????) dead_pid=${dead_pid%.*} ;; *) continue ;; esac
  case $dead_pid in '' | *[!0-9]*) continue ;; esac
  if [ "$dead_pid" != "$$" ] && [ -d "$dead" ] && ! kill -0 "$dead_pid" 2>/dev/null \
    && [ -n "$(find "$dead" -prune -mtime +0 2>/dev/null)" ]; then
    rm -rf "$dead" 2>/dev/null || :
  fi
done
pid=
# Pulls and engine calls run in the background (for their deadlines): stop them with
# the launcher (exit 130 for SIGINT, 143 for SIGTERM, as publisher's commands).
# A pull runs in a session of its own where setsid or perl is found (Linux; macOS by its
# perl): its process group (docker and the credential helper it may be waiting on) is
# stopped with it.
trap 'if [ -n "$pid" ]; then kill -TERM "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null; fi; exit 130' INT
trap 'if [ -n "$pid" ]; then kill -TERM "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null; fi; exit 143' TERM
# SIGHUP (the terminal closed): stopped as by SIGTERM, its temporary folder removed too.
trap 'if [ -n "$pid" ]; then kill -TERM "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null; fi; exit 129' HUP
# SIGPIPE (stderr a pipe whose reader went: ./start.sh 2>&1 | head -1): 141, as a shell says it.
# One the caller ignores stays ignored, as POSIX has it (its messages are lost): zsh alone
# would trap it all the same, and a child of its own (sh, not in a $(...), where zsh gives it
# SIGPIPE's default) tells it whether it is ignored: it outlives a SIGPIPE to itself.
# shellcheck disable=SC2016  # the child's $$
if [ -z "${ZSH_VERSION:-}" ] || ! sh -c 'kill -s PIPE $$' 2>/dev/null; then
  trap 'if [ -n "$pid" ]; then kill -TERM "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null; fi; exit 141' PIPE
fi

# engine CMD...: CMD (a docker engine call, its errors kept in $work/engine.err) under a deadline of
# $engine_timeout s kept by a background watchdog (no GNU timeout); status 124 and
# $work/hung when the engine took the connection and never answered (a stuck Docker
# Desktop). hung (in the launcher's own shell) then stops with exit 10.
engine_timeout=10
engine() {
  "$@" 2>"$work/engine.err" &
  pid=$!
  call=$pid
  (
    trap 'kill "${timer:-}" 2>/dev/null; exit 0' TERM
    sleep "$engine_timeout" &
    timer=$!
    wait "$timer" && : >"$work/hung" && kill "$call" 2>/dev/null  # marked before the kill
  ) </dev/null >/dev/null 2>&1 &
  watchdog=$!
  wait "$call" 2>/dev/null  # no "Terminated" from dash when the watchdog stopped it
  exit_status=$?
  pid=
  kill "$watchdog" 2>/dev/null
  [ ! -e "$work/hung" ] || return 124
  return "$exit_status"
}
hung() {
  [ ! -e "$work/hung" ] || fail 10 "the docker engine does not answer (it took the connection, and no answer came within $engine_timeout s)
$me: fix: $(restart_fix)"
}
# restart_fix: what to do about an engine that took a call and never answered, naming the
# engine asked when it is not the default one: DOCKER_HOST, else DOCKER_CONTEXT, else the
# docker config's currentContext (the order in which the docker CLI takes them).
restart_fix() {
  printf '%s' "restart Docker Desktop, or the docker service (sudo systemctl restart docker), until \`$docker version\` answers"
  if [ -n "${DOCKER_HOST:-}" ]; then
    printf '%s' "; the engine asked is the one DOCKER_HOST names ($DOCKER_HOST): unset DOCKER_HOST to ask the default one"
    return 0
  fi
  context_from=DOCKER_CONTEXT context=${DOCKER_CONTEXT:-}
  if [ -z "$context" ]; then context_from=currentContext context=$(current_context); fi
  case $context in
    '' | default) ;;
    *) printf '%s' "; the engine asked is the docker context $context's ($context_from): \`$docker context ls\` lists the contexts, and $(default_context_fix "$context_from")" ;;
  esac
}
# docker_config: the docker config file the docker CLI reads.
docker_config() { printf '%s' "${DOCKER_CONFIG:-${HOME:-}/.docker}/config.json"; }
# current_context: the docker config's currentContext, read with sed (no jq); nothing when
# it names none.
current_context() {
  config=$(docker_config)
  [ -f "$config" ] && [ -r "$config" ] || return 0
  LC_ALL=C tr '\n\r\t' '   ' <"$config" 2>/dev/null \
    | LC_ALL=C sed -n -E 's#.*"currentContext"[[:space:]]*:[[:space:]]*"([^"]*)".*#\1#p' | sed -n 1p
}
# default_context_fix FROM: how to ask the default engine instead of the context FROM
# (DOCKER_CONTEXT or currentContext) names.
default_context_fix() {
  if [ "$1" = DOCKER_CONTEXT ]; then
    printf '%s' "unset DOCKER_CONTEXT to ask the default engine"
  else
    printf '%s' "\`$docker context use default\` asks the default engine"
  fi
}

docker_or_fail
# The oldest compose this launcher works with: `docker compose up --pull never` came in
# compose 2.8.0 (ps --all, logs --no-log-prefix, rm --stop, version --short: 2.0.0;
# pull_policy: missing: 2.1.0; the compose file's top-level name: 2.3.0). `version --short` prints 2.26.1, v2.7.0 (before
# 2.8), 2.26.1+ds1, 2.29.2-desktop.2 or a dev build's own words: one it cannot read goes on.
compose_minimum=2.8.0
if ! compose_version=$("$docker" compose version --short 2>"$work/compose.err") \
  && ! "$docker" compose version >/dev/null 2>&1; then
  config_unreadable
  install_compose="install the compose plugin (Docker Desktop has it; Debian/Ubuntu: docker-compose-plugin or docker-compose 2.x)"
  # A docker-compose command of its own: the old v1 (whose files and flags differ), or a
  # v2 binary that docker does not know as its plugin.
  standalone=$(docker-compose version --short 2>/dev/null) || standalone=
  case $standalone in
    [2-9].* | [1-9][0-9].*)
      plugins=${DOCKER_CONFIG:-${HOME:-}/.docker}/cli-plugins  # where docker looks for this user's
      fail 10 "docker compose v2 is missing as a docker plugin: docker-compose $standalone is installed as a command of its own
$me: fix: make docker find it: mkdir -p \"$plugins\" && ln -s \"$(command -v docker-compose)\" \"$plugins/docker-compose\"; or $install_compose" ;;
    ?*)
      fail 10 "docker compose v2 is missing: only docker-compose $standalone (compose v1, unsupported) is installed
$me: fix: $install_compose" ;;
  esac
  fail 10 "docker compose v2 is missing
$me: fix: $install_compose"
fi
compose_version=$(printf '%s\n' "${compose_version:-}" | sed -n 1p | LC_ALL=C tr -d '[:space:]')
compose_version=${compose_version#v}
if matches "$compose_version" '[0-9]{1,4}\.[0-9]{1,4}([^0-9].*)?'; then
  compose_major=${compose_version%%.*}
  compose_minor=${compose_version#*.}
  compose_minor=${compose_minor%%[!0-9]*}
  if [ "$compose_major" -lt 2 ] || { [ "$compose_major" -eq 2 ] && [ "$compose_minor" -lt 8 ]; }; then
    fail 10 "docker compose $compose_version is too old: this launcher needs compose $compose_minimum or newer (\`docker compose up --pull never\`)
$me: fix: update compose: Docker Desktop (macOS, Windows): install its current version; Linux: upgrade the docker-compose-plugin package (sudo apt-get install --only-upgrade docker-compose-plugin, or your distribution's docker-compose 2.x), or put a newer compose release's binary in ${DOCKER_CONFIG:-${HOME:-}/.docker}/cli-plugins/docker-compose"
  fi
fi
# What docker said names the engine it asked (DOCKER_HOST, the docker context), or that
# this user may not use it (Linux: not in the docker group).
engine_platform=$(engine "$docker" version --format '{{.Server.Os}}/{{.Server.Arch}}') || engine_gone
}
# engine_gone: exit 10 for an engine `docker version` got no answer from, in docker's words
# ($work/engine.err).
engine_gone() {
  hung
  said=$(LC_ALL=C grep -v -e '^[[:space:]]*$' -e '^WARNING' "$work/engine.err" 2>/dev/null | tail -n 1)
  case $(printf '%s' "$said" | LC_ALL=C tr '[:upper:]' '[:lower:]') in
    *"permission denied"*)
      fail 10 "this user may not use the docker engine: $said
$me: fix: add yourself to the docker group (sudo usermod -aG docker \"\$USER\", then log out and in again), or use Docker Desktop or rootless docker" ;;
    *'context "'*'": context not found'*)  # DOCKER_CONTEXT or currentContext naming none
      context=$(printf '%s\n' "$said" | sed -n 's/.*context "\([^"]*\)": context not found.*/\1/p')
      if [ -n "${DOCKER_CONTEXT:-}" ]; then
        fix="set DOCKER_CONTEXT to one \`$docker context ls\` lists, or $(default_context_fix DOCKER_CONTEXT)"
        context_from=DOCKER_CONTEXT
      else
        fix="\`$docker context ls\` lists those there are: \`$docker context use default\` (or another) asks an engine there is"
        context_from=currentContext
      fi
      fail 10 "the docker engine does not answer: $said
$me: fix: the docker context $context ($context_from) does not exist: $fix" ;;
  esac
  fail 10 "the docker engine does not answer${said:+: $said}
$me: fix: start Docker Desktop, or the docker service (sudo systemctl start docker); if it is running, \`$docker context ls\` and DOCKER_HOST say which engine is asked"
}
# engine_answers: after a docker call failed (a pull, a lookup, compose), exit 10 unless the
# engine still answers: one that went away meanwhile (Docker Desktop quit, the service
# restarted) is neither the registry's fault, nor the Dockerfile's, nor an image missing.
engine_answers() {
  engine "$docker" version --format '{{.Server.Os}}' >/dev/null || engine_gone
}

# seconds NAME DEFAULT [MAX]: the setting (seconds, a fraction allowed, e.g. 2.5) as ticks of
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
  if [ -n "${3:-}" ] && { [ "$ticks" -le 0 ] || [ "$ticks" -gt $(($3 * 5)) ]; }; then
    invalid "$1" "$value" "use a number of seconds above 0 and at most $3"  # as resolve
  fi
  [ "$ticks" -gt 0 ] || invalid "$1" "$value" "use a number of seconds above 0, e.g. 10 or 2.5"
  echo "$ticks"
}

# stop_pull PID: ends a pull (or a compose call) at its deadline whatever the docker CLI does: SIGTERM to its
# process group (docker and a credential helper it waits on, which docker waits for through
# two more SIGTERMs), SIGKILL after a grace of 2 s, and no wait for one that even outlives
# SIGKILL (stuck in the kernel): the deadline holds.
stop_pull() {
  kill -TERM "-$1" 2>/dev/null || kill "$1" 2>/dev/null
  grace=0
  while kill -0 "$1" 2>/dev/null && [ "$grace" -lt 10 ]; do
    sleep 0.2 2>/dev/null || sleep 1
    grace=$((grace + 1))
  done
  kill -KILL "-$1" 2>/dev/null || kill -KILL "$1" 2>/dev/null
  grace=0
  while kill -0 "$1" 2>/dev/null && [ "$grace" -lt 5 ]; do
    sleep 0.2 2>/dev/null || sleep 1
    grace=$((grace + 1))
  done
  if kill -0 "$1" 2>/dev/null; then return 1; fi
}

# in_session CMD...: CMD (run with &) in a session of its own where setsid or perl is found,
# so that its process group (docker, compose, a credential helper they wait on) is stopped
# with it: by setsid (Linux, busybox), else by perl's POSIX::setsid (macOS has no setsid, but
# always its /usr/bin/perl), else (neither found) CMD alone. Not `set -m`: dash and busybox
# ash refuse it without a terminal, zsh in a script, and with one it would hand the terminal
# to each job.
in_session() {
  if command -v setsid >/dev/null 2>&1; then
    exec setsid "$@"
  elif command -v perl >/dev/null 2>&1; then
    # (PERL_BADLANG=0: a locale the machine lacks, as an ssh session may forward one,
    # would have perl warn in six lines on every call, amid compose's output)
    # shellcheck disable=SC2016 # perl's variables, not the shell's
    PERL_BADLANG=0 exec perl -e 'eval { require POSIX; POSIX::setsid() }; exec { $ARGV[0] } @ARGV or die "$ARGV[0]: $!\n"' "$@"
  fi
  exec "$@"
}

# nap: a fifth of a second's wait in a loop that may last (a pull, a build, another start's
# lock), touching the work folder every 3000 (some 10 minutes): the sweep above never takes a
# running start's folder, even one whose pid it cannot see, for one left behind. A start
# holding its stack's lock touches that every 25 (some 5 s): another user's start, which may
# not see whether this one runs, waits for it while it does (one_start_at_a_time).
naps=0
nap() {
  sleep 0.2 2>/dev/null || sleep 1
  naps=$((naps + 1))
  [ $((naps % 3000)) != 0 ] || touch "$work" 2>/dev/null || :
  [ -z "${locked:-}" ] || [ $((naps % 25)) != 0 ] || touch "$lock" 2>/dev/null || :
}

# within TICKS: wait for the background call $pid (started by in_session) for TICKS fifths
# of a second at most (0: no deadline); at its deadline stop it with its process group (stop_pull) and return
# 124, else return its own status.
within() {
  within_ticks=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$1" -gt 0 ] && [ "$within_ticks" -ge "$1" ]; then
      # no "Terminated" from dash for a call stopped at its deadline
      if stop_pull "$pid"; then wait "$pid" 2>/dev/null; fi
      pid=
      return 124
    fi
    nap
    within_ticks=$((within_ticks + 1))
  done
  wait "$pid" 2>/dev/null
  exit_status=$?
  pid=
  return "$exit_status"
}

# compose_deadline: STACK_COMPOSE_TIMEOUT (its blanks aside; default 60), the seconds a
# compose call that pulls and builds nothing (down, ps, logs, rm) may take, as
# $compose_ticks; exit 2 unless it is a number above 0.
compose_deadline() {
  STACK_COMPOSE_TIMEOUT=$(trim "${STACK_COMPOSE_TIMEOUT:-}")
  compose_ticks=$(seconds STACK_COMPOSE_TIMEOUT 60) || exit 2
  compose_timeout=${STACK_COMPOSE_TIMEOUT:-60}
}

# compose_within ARGS...: docker compose ARGS for this stack ($project_name; $compose_file when
# set) that pulls and builds nothing, in the background in a session of its own, stopped at
# STACK_COMPOSE_TIMEOUT: exit 10 then (compose_hung), else its status.
compose_within() {
  cw_what=$1
  if [ -n "${compose_file:-}" ]; then set -- --file "$compose_file" "$@"; fi
  in_session "$docker" compose --project-name "$project_name" "$@" &
  pid=$!
  within "$compose_ticks" && return 0
  cw_status=$?
  [ "$cw_status" != 124 ] || compose_hung "$cw_what" "$compose_timeout" STACK_COMPOSE_TIMEOUT
  return "$cw_status"
}

# compose_hung WHAT SECONDS SETTING [SLOW]: exit 10 for docker compose WHAT stopped at its
# deadline of SECONDS s (SETTING): the engine took the call and did not answer in time.
compose_hung() {
  fail 10 "the docker engine does not answer: docker compose $1 did not finish within $2 s ($3)
$me: fix: $(restart_fix); an engine that is only slow${4:+ ($4)} needs $3 above $2 s"
}

[ "$me" = start ] || return 0  # stop.sh has what it reads: the helpers above

# The folder of the script itself, also when started through a symlink to it (a
# ~/bin/php-stack -> .../stack/start.sh): its pins file, compose.yaml and dockerfiles
# are there. readlink without -f: macOS, busybox and GNU all have that one.
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
case $script in */*) here=${script%/*} ;; *) here=. ;; esac
here=${here:-/}
if ! found_here=$(CDPATH='' cd -P -- "$here" 2>/dev/null && pwd -P); then
  if [ ! -e "$here" ]; then here_why="there is no such folder"
  elif [ ! -d "$here" ]; then here_why="it is not a folder"
  else here_why="this user may not enter it"
  fi
  fail 17 "cannot enter the launcher's folder $here: $here_why
start: fix: let this user enter that folder (\`ls -ld\` on it shows who may), or run start.sh by its own path in the stack folder it came in"
fi
here=$found_here
compose_file=$here/compose.yaml

# Its settings are environment variables: an argument (./start.sh 8.3) would be ignored,
# so it is refused; -h or --help, alone, shows the header above (--help 8.3 is refused too).
case ${1-} in
  -h | --help)
    if [ "$#" -eq 1 ]; then
      sed -n '2,/^[^#]/p' "$script" | sed -e '$d' -e 's/^#//' -e 's/^ //'
      exit 0
    fi
    shift ;;
esac
[ "$#" -eq 0 ] || fail 2 "start.sh takes no arguments ('$1' given): its settings are environment variables
start: usage: [SETTING=value ...] ./start.sh, or ./start.sh --help
start: fix: set them before the command, e.g. PHP_VERSION=8.3 ./start.sh; ./start.sh --help lists them"

# ------------------------------------------------------------------ settings

# lower TEXT: TEXT with ASCII letters lowercased, in every locale (I is no i to tr_TR's tr).
lower() { printf '%s' "$1" | LC_ALL=C tr '[:upper:]' '[:lower:]'; }

# bool NAME DEFAULT: the setting NAME as true/false; exit 2 when it is neither.
bool() {
  eval "value=\${$1:-}"
  # shellcheck disable=SC2154  # value is set by the eval above
  case $(lower "${value:-$2}") in
    true | 1 | yes | on) echo true ;;
    false | 0 | no | off) echo false ;;
    *) invalid "$1" "$value" "use true or false (1/0, yes/no, on/off are accepted too)" ;;
  esac
}

# without_credentials TEXT: status 0 when TEXT carries a user:password@ (after an optional
# scheme://), with $shown TEXT showing it as ***@; else status 1 and $shown TEXT. As
# resolve's hide_credentials: an @ is a digest's only when a digest follows it, and no other
# @ comes before it.
without_credentials() {
  shown=$1 wc_scheme='' wc_rest=$1
  case $1 in
    *://*) matches "${1%%://*}" '[A-Za-z][A-Za-z0-9+.-]*' && wc_scheme=${1%%://*}:// wc_rest=${1#*://} ;;
  esac
  case $wc_rest in *@*) ;; *) return 1 ;; esac
  wc_after=${wc_rest##*@}
  case $wc_after in
    sha256:*) ;;
    *) if ! matches "$wc_after" '([a-z0-9]+([+._-][a-z0-9]+)*:)?[0-9a-fA-F]{32,}'; then
         shown="$wc_scheme***@$wc_after"
         return 0
       fi ;;
  esac
  if [ -z "$wc_scheme" ]; then
    # another @ before the digest, followed by no digest: a user or token before a host
    # (token@ghcr.io/team/php@sha256:...), not a digest typed twice
    wc_before=${wc_rest%@*}
    case $wc_before in *@*) ;; *) return 1 ;; esac
    wc_between=${wc_before##*@}
    case $wc_between in sha256:*) return 1 ;; esac
    ! matches "$wc_between" '([a-z0-9]+([+._-][a-z0-9]+)*:)?[0-9a-fA-F]{32,}' || return 1
    shown="***@${wc_rest#"${wc_before%@*}@"}"
    return 0
  fi
  wc_authority=${wc_rest%%/*}
  case $wc_authority in *@*) ;; *) return 1 ;; esac
  shown="$wc_scheme***@${wc_rest#"${wc_authority%@*}@"}"
}

# reference TEXT: TEXT parsed as docker (and resolve) parse [host/]path[:tag][@digest]:
# ref_repository (host/path, docker.io/library/ added as docker does), ref_qualified
# (a tag or digest given), ref_digest; or ref_error in resolve's words, and status 1.
reference() {
  rest=$1 ref_error='' ref_qualified='' ref_digest=''
  case $rest in
    *@*)
      ref_digest=${rest#*@}
      rest=${rest%%@*}
      ref_qualified=1
      matches "$ref_digest" 'sha256:[a-f0-9]{64}' || ref_error="'$ref_digest' is not a sha256 digest" ;;
  esac
  case ${rest##*/} in
    *:*)
      tag=${rest##*:}
      rest=${rest%:*}
      ref_qualified=1
      matches "$tag" '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}' || ref_error=${ref_error:-"'$tag' is not a valid tag"} ;;
  esac
  [ -z "$ref_error" ] || return 1
  domain=docker.io ref_path=$rest
  case $rest in
    */*)
      case ${rest%%/*} in
        *.* | *:* | localhost | *[ABCDEFGHIJKLMNOPQRSTUVWXYZ]*)
          domain=${rest%%/*}
          ref_path=${rest#*/}
          part='([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
          matches "$domain" "($part(\\.$part)*|\\[[a-fA-F0-9:]+\\])(:[0-9]+)?" \
            || { ref_error="'$domain' is not a registry host"; return 1; }
          # DNS: a label is at most 63 characters, a name at most 253.
          case $domain in
            \[*) ;;
            *)
              labels=${domain%%:*}
              [ "${#labels}" -le 253 ] \
                || { ref_error="registry host is ${#labels} characters long: a host name is at most 253"; return 1; }
              labels=$labels.
              while [ -n "$labels" ]; do
                label=${labels%%.*} labels=${labels#*.}
                [ "${#label}" -le 63 ] || {
                  ref_error="registry host label '$(printf '%.12s' "$label")…' is ${#label} characters long: a label is at most 63"
                  return 1
                }
              done ;;
          esac
          case $domain in
            *\]) ;;
            *:*)
              port=${domain##*:}
              digits=${port#"${port%%[!0]*}"}  # without leading zeros
              if [ "${#digits}" -gt 5 ] || [ "${digits:-0}" -lt 1 ] || [ "${digits:-0}" -gt 65535 ]; then
                ref_error="registry port $port is out of range: a port is 1 to 65535"
                return 1
              fi ;;
          esac ;;
      esac ;;
  esac
  [ "$domain" != index.docker.io ] || domain=docker.io
  case $domain:$ref_path in docker.io:*/*) ;; docker.io:*) ref_path=library/$ref_path ;; esac
  part='[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*'
  matches "$ref_path" "$part(/$part)*" || {
    ref_error="a repository path is lowercase ASCII letters, digits and separators ('.', '_', '-')"
    return 1
  }
  ref_repository=$domain/$ref_path
}

# absolute PATH: PATH taken from the working directory when relative, named as resolve
# names it (pathlib): no '.' component, no repeated or trailing '/', but for a leading '//'
# kept as given (POSIX lets it mean something else than '/'; three or more are '/'); in $abs.
# A relative PATH in a directory removed after the shell entered it is exit 17, in resolve's
# words: no path is made from the root instead.
absolute() {
  abs_root=
  case $1 in
    //*) case $1 in ///*) abs=$1 ;; *) abs=${1#/} abs_root=/ ;; esac ;;
    /*) abs=$1 ;;
    *) abs=$(pwd -P 2>/dev/null) || abs=  # zsh says "." for a directory that is gone
       case $abs in /*) ;; *) fail 17 "the current directory cannot be read (No such file or directory): it was removed or renamed after this shell entered it, so no pins file or Dockerfile can be found from it
start: fix: cd into the stack's directory again (\`cd \"\$PWD\"\` takes a recreated one) and rerun" ;; esac
       abs=$abs/$1 ;;
  esac
  while :; do
    case $abs in
      *//*) abs=${abs%%//*}/${abs#*//} ;;
      */./*) abs=${abs%%/./*}/${abs#*/./} ;;
      /.) abs=/ ;;  # the root's '.' (from '/.', '//.', or '.' in /): the root
      *?/.) abs=${abs%/.} ;;
      *?/) abs=${abs%/} ;;
      *) break ;;
    esac
  done
  abs=$abs_root$abs
}

# repository TEXT: TEXT as a repository name (no tag, no digest), as reference.
repository() {
  reference "$1" || return 1
  [ -z "$ref_qualified" ] || { ref_error="a repository name may not have a tag or digest here"; return 1; }
}

# is_semver TEXT: v + a semantic version?
id='(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)'
is_semver() { matches "$1" "v(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-$id(\\.$id)*)?"; }
# release_problem TEXT: why v + a semantic version is no release tag, in resolve's words
# (shaped as a pin tag, or too long for its pin tags); nothing when it is one.
release_problem() {
  if matches "$1" '.+-php-(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})'; then
    echo "it looks like a pin tag (…-php-X.Y)"
  elif [ ${#1} -gt 116 ]; then
    echo "it has ${#1} characters, more than 116: its pin tags (…-php-X.Y) would not fit the 128 characters of an image tag"
  fi
}
# is_release TEXT: a release tag (as resolve's --release)?
is_release() { is_semver "$1" && [ -z "$(release_problem "$1")" ]; }
# is_php_line TEXT: MAJOR.MINOR, no leading zeros?
is_php_line() { matches "$1" '(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})'; }  # as resolve
# is_platform TEXT: os/arch[/variant], as a pins file's PHP_PLATFORMS_X_Y lists them?
is_platform() { matches "$1" '[a-z0-9]+/[a-z0-9_]+(/[a-z0-9.]+)?'; }  # as resolve
# in_order lines|platforms WORDS: valid WORDS (blank-separated) in the order publisher
# writes them, one space apart, as resolve lists them whatever the order of a pins file
# edited by hand: lines by version (8.10 after 8.9), each once; platforms sorted.
in_order() {
  printf '%s\n' "$2" | LC_ALL=C awk -v kind="$1" '
    function before(a, b,   x, y) {
      if (kind != "lines") return (a "") < (b "")
      split(a, x, "."); split(b, y, ".")
      return x[1] + 0 < y[1] + 0 || (x[1] + 0 == y[1] + 0 && x[2] + 0 < y[2] + 0)
    }
    { for (i = 1; i <= NF; i++) if (kind != "lines" || !seen[$i]++) word[n++] = $i }
    END {
      for (i = 1; i < n; i++)  # insertion sort: a handful of words
        for (j = i; j > 0 && before(word[j], word[j - 1]); j--) {
          w = word[j]; word[j] = word[j - 1]; word[j - 1] = w
        }
      for (i = 0; i < n; i++) printf "%s%s", (i ? " " : ""), word[i]
    }'
}

# Settings are read as resolve reads them: a blank setting is unset, and the blanks
# around a word (a stray space, the CR of an env file edited on Windows) do not count.
for setting in USE_PREBUILT ALLOW_LOCAL_BUILD_FALLBACK PREBUILT_REGISTRY STACK_RELEASE PHP_VERSION \
  PHP_IMAGE_PLATFORM STACK_REGISTRY_TIMEOUT STACK_PULL_TIMEOUT PHP_IMAGE_CACHE_CHECK PMA_IMAGE \
  PHP_PINS_FILE PHP_DOCKERFILES STACK_NAME; do
  eval "value=\${$setting:-}"
  trimmed=${value#"${value%%[!"$blanks"]*}"}
  trimmed=${trimmed%"${trimmed##*[!"$blanks"]}"}
  eval "$setting=\$trimmed"  # a path too: a CR after it is no part of its name
done

use_prebuilt=$(bool USE_PREBUILT true) || exit 2
allow_fallback=$(bool ALLOW_LOCAL_BUILD_FALLBACK true) || exit 2
cache_check=$(bool PHP_IMAGE_CACHE_CHECK true) || exit 2
registry_ticks=$(seconds STACK_REGISTRY_TIMEOUT 10 60) || exit 2
registry_timeout=${STACK_REGISTRY_TIMEOUT:-10}
pull_ticks=$(seconds STACK_PULL_TIMEOUT 900) || exit 2
pull_timeout=${STACK_PULL_TIMEOUT:-900}
compose_deadline  # STACK_COMPOSE_TIMEOUT, as stop.sh reads it
# The fix for a pull STACK_PULL_TIMEOUT stopped, the pre-built image's or the base's.
slow_pull_fix="set STACK_PULL_TIMEOUT above $pull_timeout s for a slow connection"
case $(lower "${PREBUILT_REGISTRY:-canonical}") in
  canonical) which_registry=canonical; other_registry=mirror ;;
  mirror) which_registry=mirror; other_registry=canonical ;;
  *) invalid PREBUILT_REGISTRY "$PREBUILT_REGISTRY" "use canonical or mirror" ;;
esac
# STACK_RELEASE, when set: v + a semantic version (as resolve's --release); one that lacks
# its lowercase v (2.0.0, V2.0.0) is named with it, as resolve names it.
if [ -n "${STACK_RELEASE:-}" ] && ! is_release "$STACK_RELEASE"; then
  ! is_semver "$STACK_RELEASE" || invalid STACK_RELEASE "$STACK_RELEASE" "$(release_problem "$STACK_RELEASE")"
  case $STACK_RELEASE in
    V*) ! is_release "v${STACK_RELEASE#V}" || invalid STACK_RELEASE "$STACK_RELEASE" \
      "a release tag starts with a lowercase 'v' (did you mean v${STACK_RELEASE#V}?)" ;;
    *) ! is_release "v$STACK_RELEASE" || invalid STACK_RELEASE "$STACK_RELEASE" \
      "a release tag starts with 'v' (did you mean v$STACK_RELEASE?)" ;;
  esac
  invalid STACK_RELEASE "$STACK_RELEASE" "use v + a semantic version, e.g. v2.0.0 or v2.1.0-rc.1"
fi
# PHP_VERSION and PHP_IMAGE_PLATFORM, when set, are checked with the other settings, before
# the pins file and the engine are asked anything (their defaults come from those): a bad
# value is exit 2 whatever else is wrong, as in resolve.
php_line_or_fail() {
  is_php_line "$1" && return 0
  matches "$1" '[0-9]+\.[0-9]+\.[0-9]+[^[:space:]]*' \
    && invalid PHP_VERSION "$1" "give the PHP line MAJOR.MINOR (${1%%.*}.$(printf '%s' "${1#*.}" | sed 's/[.].*//')), not a full version"
  invalid PHP_VERSION "$1" "use a PHP line MAJOR.MINOR, e.g. 8.4"
}
# platform_of TEXT: linux/amd64 or linux/arm64 for TEXT as docker reads it (as resolve: any
# case; x86_64 is amd64, whose variant v1 is none; aarch64 is arm64, whose variant v8 is the
# only one), else nothing.
platform_of() {
  case $(printf '%s' "$1" | LC_ALL=C tr '[:upper:]' '[:lower:]') in
    linux/amd64 | linux/x86[-_]64 | linux/amd64/v1 | linux/x86[-_]64/v1) echo linux/amd64 ;;
    linux/arm64 | linux/aarch64 | linux/arm64/8 | linux/arm64/v8 | linux/arm64/v8.0 | \
      linux/aarch64/8 | linux/aarch64/v8 | linux/aarch64/v8.0) echo linux/arm64 ;;
  esac
}
# platform_or_fail NAME VALUE: VALUE as a platform ($given_platform); exit 2 naming NAME when
# it is none the image has (DOCKER_DEFAULT_PLATFORM: docker's, said what it does here).
platform_or_fail() {
  given_platform=$(platform_of "$2")
  [ -n "$given_platform" ] && return 0
  case $1 in
    DOCKER_DEFAULT_PLATFORM)
      invalid "$1" "$2" "use linux/amd64 or linux/arm64 (the PHP image's platform when PHP_IMAGE_PLATFORM is not set)" ;;
  esac
  invalid "$1" "$2" "use linux/amd64 or linux/arm64"
}
[ -z "${PHP_VERSION:-}" ] || php_line_or_fail "$PHP_VERSION"
# STACK_NAME: a compose project name, checked now rather than by compose after a pull or a build.
stack_name
# The platform given: PHP_IMAGE_PLATFORM, else docker's own default (the docker CLI and
# compose take DOCKER_DEFAULT_PLATFORM when no platform is given; both are given one here),
# read as resolve reads it: its blanks aside, not read (nor refused) under PHP_IMAGE_PLATFORM.
given_platform='' platform_from=''
docker_default=${DOCKER_DEFAULT_PLATFORM:-}
docker_default=${docker_default#"${docker_default%%[!"$blanks"]*}"}
docker_default=${docker_default%"${docker_default##*[!"$blanks"]}"}
if [ -n "${PHP_IMAGE_PLATFORM:-}" ]; then
  platform_or_fail PHP_IMAGE_PLATFORM "$PHP_IMAGE_PLATFORM"
  platform_from=PHP_IMAGE_PLATFORM
elif [ -n "$docker_default" ]; then
  platform_or_fail DOCKER_DEFAULT_PLATFORM "$docker_default"
  platform_from=DOCKER_DEFAULT_PLATFORM
fi
# Whitespace or a control character as resolve reads them, a Unicode space too (a no-break
# space pasted with it), whatever the shell's locale makes of [:space:] and [:cntrl:].
# A quote, a backslash or a '#': no image reference holds one, and resolve's env file could
# not hold a quote safely (nor '##[' in GitHub Actions); both refuse them in the same words.
pma_spaced=
[ -z "${PMA_IMAGE:-}" ] || pma_spaced=$(utf8 spaced "$PMA_IMAGE")
case ${PMA_IMAGE:-} in *[\'\"\\#]*) pma_spaced=1 ;; esac
if [ -n "$pma_spaced" ]; then
  without_credentials "$PMA_IMAGE" || :  # never the password
  invalid PMA_IMAGE "$shown" "an image reference may not contain whitespace, control characters, quotes, backslashes or '#'"
fi
# PHP_IMAGE_REPOSITORY, PHP_IMAGE_MIRROR: a repository name, as docker (and resolve) read it.
repo_override=
mirror_override=
for setting in PHP_IMAGE_REPOSITORY PHP_IMAGE_MIRROR; do
  eval "value=\${$setting:-}"
  trimmed=${value#"${value%%[!"$blanks"]*}"}
  trimmed=${trimmed%"${trimmed##*[!"$blanks"]}"}
  [ -n "$trimmed" ] || continue
  if without_credentials "$trimmed"; then  # $shown: the value without its blanks, as resolve
    # localhost:5000/php@8.4: a tag typed where a digest goes, not a password (as resolve;
    # the part before @ still not echoed)
    wc_name=${trimmed%@*} wc_tag=${trimmed##*@}
    case $wc_name in *@*) ;; *)
      if { [ -z "$wc_tag" ] || matches "$wc_tag" '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'; } \
        && repository "$wc_name"; then
        invalid "$setting" "$shown" "what follows '@' ('$wc_tag') is not a digest, and a repository name may not have a tag or digest here (e.g. registry.example.com/team/php-fpm)"
      fi ;;
    esac
    invalid "$setting" "$shown" "it carries credentials (user:password@): give the repository alone, and run \`docker login\` for its registry (resolve also reads PHP_IMAGE_REGISTRY_USERNAME and PHP_IMAGE_REGISTRY_PASSWORD)"
  fi
  repository "$trimmed" \
    || invalid "$setting" "$trimmed" "$ref_error (e.g. registry.example.com/team/php-fpm)"
  case $setting in
    PHP_IMAGE_REPOSITORY) repo_override=$ref_repository ;;
    *) mirror_override=$ref_repository ;;
  esac
done

# ------------------------------------------------------------------ the pins file

# rerun RELEASE: how a release published before pins files gets one (resolve's words).
rerun() {
  printf '%s' "ask its maintainer to rerun \`publisher release $1\` (rebuilds nothing, writes $1.env)"
}

absolute "${PHP_PINS_FILE:-$here/php-images.env}"  # named by its absolute path, as resolve names it
pins=$abs
pins_in_directory=
if [ -d "$pins" ]; then  # a directory of vX.Y.Z.env: the one of STACK_RELEASE
  pins_in_directory=1
  [ -n "${STACK_RELEASE:-}" ] || fail 2 "PHP_PINS_FILE names a directory ($pins), and STACK_RELEASE is not set
start: fix: set STACK_RELEASE, or point PHP_PINS_FILE at the vX.Y.Z.env file"
  pins=${pins%/}/$STACK_RELEASE.env
fi
# A pins file this user may not read, or below a folder it may not search (which -e calls
# missing): said so, in resolve's words, never "not found" or the shell's own message.
if [ -n "${PHP_PINS_FILE:-}" ]; then copy="point PHP_PINS_FILE at a copy it can read"; else copy="set PHP_PINS_FILE to a copy"; fi
denied="$pins: cannot read the pins file: Permission denied
start: fix: give this user read access to it (and search access to its folders), or $copy"
if [ ! -e "$pins" ]; then
  folder=$pins
  while case $folder in */?*) true ;; *) false ;; esac; do
    folder=${folder%/*}
    if [ -d "${folder:-/}" ] && [ ! -x "${folder:-/}" ]; then fail 3 "$denied"; fi
  done
  # the fix for what was named (resolve's words): a file, a directory of vX.Y.Z.env, or none;
  # a symbolic link there whose target is missing (a vendored link to a file since moved)
  link=
  if [ -h "$pins" ] && target=$(readlink -- "$pins" 2>/dev/null); then link=$target; fi
  if [ -n "$link" ]; then
    if [ -z "${PHP_PINS_FILE:-}" ]; then other="set PHP_PINS_FILE"
    elif [ -n "$pins_in_directory" ]; then other="check STACK_RELEASE"
    else other="point PHP_PINS_FILE at the release's vX.Y.Z.env"
    fi
    fail 3 "$pins: pins file not found: it is a symbolic link to $link, which does not exist
start: fix: restore $link or point the link at the release's vX.Y.Z.env, or $other"
  fi
  # a directory holding the release record but no pins file: a release published before them
  if [ -n "$pins_in_directory" ] && [ -f "${pins%.env}.json" ]; then
    fail 3 "$pins: pins file not found: $STACK_RELEASE was published before publisher wrote pins files (the directory holds its release record $STACK_RELEASE.json, and no $STACK_RELEASE.env)
start: fix: $(rerun "$STACK_RELEASE"), then put it in the directory PHP_PINS_FILE names; or check STACK_RELEASE"
  fi
  if [ -z "${PHP_PINS_FILE:-}" ]; then
    fix="vendor the release's vX.Y.Z.env next to this script as php-images.env, or set PHP_PINS_FILE"
  elif [ -n "$pins_in_directory" ]; then
    fix="check STACK_RELEASE, or put the release's $STACK_RELEASE.env in the directory PHP_PINS_FILE names"
  else
    fix="check the path in PHP_PINS_FILE, or point PHP_PINS_FILE at the release's vX.Y.Z.env"
  fi
  fail 3 "$pins: pins file not found
start: fix: $fix"
fi
not_pins="use the pins file publisher wrote (vX.Y.Z.env), unmodified"
# A device or a pipe is never read, nor more than 64 KiB (a pins file is a few KB; the
# shell reads 64 KiB of keys or comments in well under a second, a MiB in many seconds).
[ -f "$pins" ] || fail 3 "$pins: not a regular file, so not a pins file
start: fix: $not_pins"
[ -r "$pins" ] || fail 3 "$denied"
size=$(wc -c 2>/dev/null <"$pins") || fail 3 "$pins: cannot read the pins file
start: fix: check the path and the disk it is on, or $copy"
[ "$((size))" -le 65536 ] || fail 3 "$pins: larger than 64 KiB, so not a pins file
start: fix: $not_pins"

# not_utf8 FILE: "LINE BYTE" of the first byte of FILE that does not begin valid UTF-8 (the
# start of a broken sequence, as resolve's decoder names it); nothing when it is all UTF-8.
not_utf8() {
  # ASCII, as publisher writes it, needs no more than tr; else od and awk read the bytes.
  [ "$(LC_ALL=C tr -d '\000-\177' <"$1" | wc -c)" -gt 0 ] || return 0
  od -An -v -tu1 "$1" | awk '
    function bad(at_line, byte) { print at_line, byte; found = 1; exit }
    BEGIN { line = 1; need = 0 }
    {
      for (i = 1; i <= NF; i++) {
        b = $i + 0
        if (need > 0) {
          if (b < lo || b > hi) bad(lead_line, lead)
          lo = 128; hi = 191; need--
          continue
        }
        if (b == 10) line++
        if (b < 128) continue
        lead = b; lead_line = line; lo = 128; hi = 191
        if (b >= 194 && b <= 223) need = 1
        else if (b == 224) { need = 2; lo = 160 }
        else if (b == 237) { need = 2; hi = 159 }
        else if (b >= 225 && b <= 239) need = 2
        else if (b == 240) { need = 3; lo = 144 }
        else if (b == 244) { need = 3; hi = 143 }
        else if (b >= 241 && b <= 243) need = 3
        else bad(line, b)
      }
    }
    END { if (!found && need > 0) print lead_line, lead }'
}
found=$(not_utf8 "$pins") || fail 3 "$pins: cannot read the pins file"
if [ -n "$found" ]; then
  fail 3 "$pins: line ${found% *} holds a byte that is not UTF-8 ($(printf '0x%02x' "${found#* }")): not a pins file, or one saved in another encoding
start: fix: use the pins file publisher wrote, unmodified (download it again)"
fi
# A byte order mark (an editor's "UTF-8 with BOM"): sh would take it for part of line 1.
case $(od -An -N3 -tx1 "$pins" | tr -d "$blanks") in
  efbbbf) fail 3 "$pins: line 1 starts with a byte order mark (U+FEFF): an editor saved the file as UTF-8 with BOM, which sh reads as part of that line
start: fix: use the pins file publisher wrote, unmodified (download it again)" ;;
esac
# A NUL byte (a binary file, UTF-16 saved without its byte order mark): the shell's read
# would drop it unsaid, so a line resolve refuses would be read as another.
if [ "$(LC_ALL=C tr -dc '\000' <"$pins" | wc -c)" -gt 0 ]; then
  found=$(od -An -v -tu1 "$pins" | awk '
    BEGIN { line = 1 }
    { for (i = 1; i <= NF; i++) { if ($i == 0) { print line; exit } if ($i == 10) line++ } }')
  fail 3 "$pins: line $found holds a NUL byte (0x00): not a pins file, or one saved in another encoding
start: fix: use the pins file publisher wrote, unmodified (download it again)"
fi

# A release record (vX.Y.Z.json: JSON naming "release" and "lines") where its pins file goes,
# or other JSON (a docker config.json): resolve's words.
case $(LC_ALL=C sed -n '/[^[:space:]]/{s/^[[:space:]]*//;p;q;}' "$pins") in
  '{'*)
    if ! LC_ALL=C grep -q '"release"[[:space:]]*:' "$pins" || ! LC_ALL=C grep -q '"lines"[[:space:]]*:' "$pins"; then
      fail 3 "$pins: this is JSON, not a pins file (KEY='value' lines)
start: fix: use the pins file publisher wrote (vX.Y.Z.env), unmodified"
    fi
    record=${pins##*/}
    release=${record%.json}
    if [ "$release" = "$record" ] || ! is_release "$release"; then release=vX.Y.Z; fi
    fail 3 "$pins: this is the release record $release.json, not its pins file $release.env
start: fix: point PHP_PINS_FILE at $release.env, which publisher writes beside it; a release published before publisher wrote pins files has none: $(rerun "$release")" ;;
esac

# The schema first, in any syntax a later schema may write (quoted or not, = or :), as
# resolve finds it: a newer publisher's pins file is said to be one even when its lines
# changed too, not called broken for them.
schema=$(LC_ALL=C sed -n "s/^[[:space:]]*PHP_PINS_SCHEMA[[:space:]]*[=:][[:space:]]*[\"']\{0,1\}\([0-9][0-9]*\)[\"']\{0,1\}[[:space:]]*\$/\1/p" "$pins" | sed -n 1p)
if matches "$schema" '0*([2-9]|[1-9][0-9]+)'; then
  fail 3 "$pins: PHP_PINS_SCHEMA is '$schema': a newer publisher wrote this pins file; this launcher reads schema 1
start: fix: update the stack's start.sh and resolve.py to the publisher version that wrote the pins file (its release's examples/stack), or use a pins file of schema 1"
fi

# The pins file, read as resolve reads it: KEY='value' lines (blank lines and
# # comments aside), no key given twice; each value is kept as pin_KEY. The comments that a
# line was past its end of life when the release was written are kept, for a note.
end_of_life=
broken() {
  fail 3 "$pins: $*
start: fix: use the pins file publisher wrote, unmodified"
}
# edited MESSAGE [MORE]: a pins file whose default line publisher never wrote (resolve's words).
edited() {
  fail 3 "$pins: $1
start: fix: use the pins file publisher wrote, unmodified: this one was edited by hand (take the release's vX.Y.Z.env again)${2:-}"
}
number=0
keys=0
while IFS= read -r line || [ -n "$line" ]; do
  number=$((number + 1))
  line=${line#"${line%%[!"$blanks"]*}"}
  line=${line%"${line##*[!"$blanks"]}"}
  case $line in
    '# PHP '*' was past its end of life ('*)
      case $line in *[$controls]*) ;; *) end_of_life="$end_of_life$line
" ;; esac
      continue ;;
    '' | '#'*) continue ;;
  esac
  pin_key=${line%%=*}
  value=${line#*=}
  inner=${value#\'}
  inner=${inner%\'}
  case $pin_key in
    '' | [!ABCDEFGHIJKLMNOPQRSTUVWXYZ]* | *[!ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_]*) inner="'" ;;
  esac
  case $line in *=*) ;; *) inner="'" ;; esac
  case $inner in *\'*) broken "line $number is not KEY='value'" ;; esac
  [ "$value" = "'$inner'" ] || broken "line $number is not KEY='value'"
  eval "first=\${line_of_$pin_key:-}"
  # shellcheck disable=SC2154  # first is set by the eval above
  [ -z "$first" ] || broken "line $number gives $pin_key again (line $first)"
  eval "line_of_$pin_key=\$number pin_$pin_key=\$inner"
  keys=$((keys + 1))
done <"$pins"

# pin KEY: the value of KEY in the pins file (empty when absent).
pin() { eval "printf '%s' \"\${pin_$1:-}\""; }
# has_pin KEY: does the pins file give KEY?
has_pin() { eval "[ -n \"\${line_of_$1:-}\" ]"; }

[ "$keys" -gt 0 ] || broken "the pins file is empty"
if ! has_pin PHP_PINS_SCHEMA; then
  broken "PHP_PINS_SCHEMA is missing; schema 1 is expected (is it a pins file?)"
elif [ "$(pin PHP_PINS_SCHEMA)" != 1 ]; then
  broken "PHP_PINS_SCHEMA is '$(pin PHP_PINS_SCHEMA)'; schema 1 is expected (is it a pins file?)"
fi
release=$(pin STACK_RELEASE)
is_release "$release" || broken "STACK_RELEASE '$release' is not a release tag"
# only 'true' is a stand-in: any other word would drop the STAND-IN banner
if has_pin PHP_STAND_IN; then
  case $(pin PHP_STAND_IN) in
    true | false) ;;
    *) broken "PHP_STAND_IN: $(utf8 repr "$(pin PHP_STAND_IN)") is not true or false" ;;
  esac
fi
repository "$(pin PHP_REPOSITORY)" || broken "PHP_REPOSITORY/PHP_MIRROR_REPOSITORY: $ref_error"
canonical=$ref_repository
mirror=
if [ -n "$(pin PHP_MIRROR_REPOSITORY)" ]; then
  repository "$(pin PHP_MIRROR_REPOSITORY)" || broken "PHP_REPOSITORY/PHP_MIRROR_REPOSITORY: $ref_error"
  mirror=$ref_repository
fi
lines=$(pin PHP_LINES)
set -f  # the words as they are: none is a pattern
for line in $lines; do
  is_php_line "$line" || broken "PHP_LINES: $(utf8 repr "$line") is not a PHP line"
  line_key=$(printf '%s' "$line" | tr . _)
  has_pin "PHP_IMAGE_$line_key" || broken "PHP_IMAGE_$line_key is missing (PHP_LINES lists $line)"
  reference "$(pin "PHP_IMAGE_$line_key")" || broken "PHP_IMAGE_$line_key: $ref_error"
  [ -n "$ref_digest" ] || broken "PHP_IMAGE_$line_key is not pinned by digest"
  # A key publisher writes for every line, missing, is a file cut short (a download's last
  # lines lost): never a line read as if pinned without it.
  [ -z "$mirror" ] || has_pin "PHP_IMAGE_MIRROR_$line_key" \
    || broken "PHP_IMAGE_MIRROR_$line_key is missing (PHP_MIRROR_REPOSITORY names a mirror)"
  if has_pin "PHP_IMAGE_MIRROR_$line_key"; then
    reference "$(pin "PHP_IMAGE_MIRROR_$line_key")" || broken "PHP_IMAGE_MIRROR_$line_key: $ref_error"
  fi
  has_pin "PHP_PLATFORMS_$line_key" || broken "PHP_PLATFORMS_$line_key is missing (PHP_LINES lists $line)"
  for word in $(pin "PHP_PLATFORMS_$line_key"); do  # none (empty): not recorded
    is_platform "$word" \
      || broken "PHP_PLATFORMS_$line_key: $(utf8 repr "$word") is not a platform (os/arch, e.g. linux/amd64)"
  done
  has_pin "PHP_BASE_IMAGE_$line_key" || broken "PHP_BASE_IMAGE_$line_key is missing (PHP_LINES lists $line)"
  # a reference (by digest when publisher knew it), never an option of docker pull; empty:
  # the Dockerfile's default
  if [ -n "$(pin "PHP_BASE_IMAGE_$line_key")" ]; then
    reference "$(pin "PHP_BASE_IMAGE_$line_key")" || broken "PHP_BASE_IMAGE_$line_key: $ref_error"
  fi
done
set +f
lines=$(in_order lines "$lines")
default_line=$(pin PHP_DEFAULT_LINE)
[ -z "$default_line" ] || is_php_line "$default_line" \
  || edited "PHP_DEFAULT_LINE: '$default_line' is not a PHP line"
if [ -n "${STACK_RELEASE:-}" ] && [ "$STACK_RELEASE" != "$release" ]; then
  # without STACK_RELEASE, a directory's file is not found: then it is named itself
  use="unset STACK_RELEASE"
  [ -z "$pins_in_directory" ] || use="set PHP_PINS_FILE to this file and $use"
  fail 3 "$pins: this pins file is for $release, not $STACK_RELEASE
start: fix: take the pins file of $STACK_RELEASE, or $use to use this one ($release)"
fi
php=${PHP_VERSION:-$default_line}
if [ -z "${PHP_VERSION:-}" ] && [ -n "$php" ]; then  # the default line: one PHP_LINES lists
  listed=
  for line in $lines; do [ "$line" != "$php" ] || listed=yes; done
  [ -n "$listed" ] || edited "PHP_DEFAULT_LINE: '$php' is not one of PHP_LINES, so the pins file pins no image for it (no PHP_IMAGE_$(printf '%s' "$php" | tr . _))" ", or set PHP_VERSION to a line it lists"
fi
example=${lines##* }  # the newest line the pins file holds, as resolve's example
[ -n "$php" ] || fail 2 "PHP_VERSION is not set (and the pins file names no default line)
start: fix: set PHP_VERSION (e.g. PHP_VERSION=${example:-8.4})"
php_line_or_fail "$php"
key=$(printf '%s' "$php" | tr . _)
stand_in=$(pin PHP_STAND_IN)
# The line past its end of life when the release was written: its comment, as a note (the
# first one, without its '# ' and last period, as resolve says it).
ended=
case "
$end_of_life" in
  *"
# PHP $php was past its end of life ("*)
    ended=${end_of_life#*"# PHP $php was past its end of life ("}
    ended="PHP $php was past its end of life (${ended%%"
"*}"
    ended=${ended%.} ;;
esac

# ------------------------------------------------------------------ docker and compose

# compose.yaml next to start.sh: without it compose could start nothing (after a pull or a build).
if [ ! -f "$here/compose.yaml" ] || [ ! -r "$here/compose.yaml" ]; then
  fail 17 "there is no compose.yaml this user may read in the stack folder $here: start.sh starts the services it describes
start: fix: vendor compose.yaml with start.sh, from the same publisher version, into $here"
fi
engine_or_fail

# The image runs on the engine, whatever this machine is (a remote DOCKER_HOST, a Rosetta
# shell on Apple Silicon whose uname says x86_64): its platform, as resolve takes it. One
# the pins file does not list (linux/arm, a Windows engine) is platform-missing, not exit 2.
platform=${given_platform:-$engine_platform}

# ------------------------------------------------------------------ what to run

dockerfiles=${PHP_DOCKERFILES:-}
if [ -z "$dockerfiles" ]; then
  dockerfiles=$here/dockerfiles
  # In publisher's own repository (examples/stack) the Dockerfiles sit two levels up, named
  # without the '..'. A vendored copy reads its own dockerfiles/ alone, never a folder of
  # that name above it (a stack's own Dockerfiles, which would build another image).
  if [ ! -d "$dockerfiles" ] && [ -f "$here/../../publisher/resolve.py" ] \
    && [ -f "$here/../../matrix.yaml" ] && [ -d "$here/../../dockerfiles" ]; then
    dockerfiles=$(CDPATH='' cd -- "$here/../../dockerfiles" && pwd) || dockerfiles=$here/dockerfiles
  fi
fi
absolute "$dockerfiles"  # named by its absolute path, as resolve names it
dockerfiles=$abs
context=$dockerfiles/$php
dockerfile=$context/Dockerfile
# A Dockerfile this user may not read, or below a folder it may not search (which -f calls
# missing): said so in resolve's words, as the pins file is, never "no Dockerfile" or a
# build that fails in compose (exit 11) on it.
dockerfile_denied=
context_denied=
if [ -f "$dockerfile" ]; then
  # docker sends the Dockerfile's folder as the build context: one this user may search
  # (the file is there) but not read cannot be sent, and the build would fail in compose.
  if [ ! -r "$dockerfile" ]; then dockerfile_denied=1; elif [ ! -r "$context" ]; then context_denied=1; fi
else
  folder=$dockerfile
  while case $folder in */?*) true ;; *) false ;; esac; do
    folder=${folder%/*}
    if [ -d "${folder:-/}" ] && [ ! -x "${folder:-/}" ]; then dockerfile_denied=1; break; fi
  done
fi
buildable=
if [ -n "$dockerfile_denied$context_denied" ]; then
  if [ -n "$dockerfile_denied" ]; then
    no_dockerfile="the Dockerfile for PHP $php at $dockerfile cannot be read: Permission denied"
  else
    no_dockerfile="the build context for PHP $php at $context (the Dockerfile's folder) cannot be read: Permission denied"
  fi
  dockerfile_fix="give this user read access to it (and search access to its folders), or set PHP_DOCKERFILES to a copy it can read"
else
  [ ! -f "$dockerfile" ] || buildable=1
  no_dockerfile="there is no Dockerfile for PHP $php at $dockerfile"
  dockerfile_fix="set PHP_DOCKERFILES to the directory holding <X.Y>/Dockerfile, or PHP_VERSION to a line that has one"
fi
# The Dockerfile's sha256 (sha256:HEX, as resolve and publisher's builds compute it), which
# a local build carries as its label dev.publisher.dockerfile: a fallback starts an earlier
# local build only of the same Dockerfile. Nothing when it cannot be read, or when this
# machine has none of sha256sum (Linux, busybox), shasum (macOS) and openssl.
dockerfile_digest=
if [ -n "$buildable" ]; then
  for sum in 'sha256sum' 'shasum -a 256' 'openssl dgst -sha256 -r'; do
    command -v "${sum%% *}" >/dev/null 2>&1 || continue
    # shellcheck disable=SC2086  # the command and its options
    dockerfile_digest=$($sum <"$dockerfile" 2>/dev/null) || dockerfile_digest=
    dockerfile_digest=${dockerfile_digest%% *}
    break
  done
  if matches "$dockerfile_digest" '[0-9a-f]{64}'; then dockerfile_digest=sha256:$dockerfile_digest; else dockerfile_digest=; fi
fi

# The repository each PREBUILT_REGISTRY pulls (as resolve's): an override, else the
# pins file's (a release on one registry: the canonical one for both).
canonical_repository=${repo_override:-$canonical}
mirror_repository=${mirror_override:-${repo_override:-${mirror:-$canonical}}}
# The reference (as resolve's): the release pin on the chosen repository, by the
# digest the pins file gives for this line. The other PREBUILT_REGISTRY is advised only
# when it pulls another repository: a release on one registry (or PHP_IMAGE_REPOSITORY
# for both) would only fail the same way there.
if [ "$which_registry" = canonical ]; then
  repository=$canonical_repository other_repository=$mirror_repository
else
  repository=$mirror_repository other_repository=$canonical_repository
fi
registry_host=${repository%%/*}
try_other="try PREBUILT_REGISTRY=$other_registry, "
[ "$other_repository" != "$repository" ] || try_other='' other_registry=''
prebuilt=
case " $lines " in
  *" $php "*) image=$(pin "PHP_IMAGE_$key") && prebuilt=$repository:$release-php-$php@${image#*@} ;;
esac
base=$(pin "PHP_BASE_IMAGE_$key")
if [ -z "$base" ] && { [ -n "$buildable" ] || [ -n "$context_denied" ]; }; then  # read, as resolve
  base=$(LC_ALL=C sed -n 's/^ARG[[:space:]][[:space:]]*PHP_BASE_IMAGE=\([^[:space:]]*\).*/\1/p' "$dockerfile" | sed -n 1p)
fi
# The local build's tag is keyed on its base digest (as resolve's): a pins file
# republished on a new base is a new build, never the old one reused.
local_image=localhost/${canonical#*/}:$release-php-$php
case $base in
  *@sha256:*) local_image=$local_image-base-$(printf '%.12s' "${base##*@sha256:}") ;;
esac

# ------------------------------------------------------------------ helpers

# cached REF: is REF in the local image store for the platform, an image docker makes a
# container of? (no network) Sets unrunnable to docker's words when it holds REF but finds
# a manifest of the wrong kind for the platform.
cached() {
  unrunnable=
  found=$(engine "$docker" image inspect --format '{{.Os}}/{{.Architecture}}' -- "$1") || { not_here; return 1; }
  # A local build is this engine's own image. Any other is asked for a container: a
  # multi-platform image in the containerd image store has inspect name one of its
  # platforms (the engine's when present), and docker answers for another one only by
  # creating a container for it, which --pull never keeps off the network; an index of
  # indexes has the platform named too, yet no image ("manifest has incorrect mediatype").
  [ "$found" != "$platform" ] || [ "$1" != "$local_image" ] || return 0
  probe=$(engine "$docker" create --pull never --platform "$platform" -- "$1" true) || {
    case $(lower "$(cat "$work/engine.err" 2>/dev/null)") in
      *"incorrect mediatype"*) unrunnable=$(sed -n 's/^Error response from daemon: //p' "$work/engine.err" | sed -n 1p) ;;
    esac
    not_here
    return 1
  }
  engine "$docker" rm -v "$probe" >/dev/null || hung
}
# not_here: a lookup in the image store failed: docker's "No such image" is an image not
# here; anything else (the engine gone) is exit 10 unless the engine answers.
not_here() {
  hung
  case $(lower "$(cat "$work/engine.err" 2>/dev/null)") in
    *"no such image"* | *"no such object"*) ;;
    *) engine_answers ;;
  esac
}

# credential_helper HOST: the docker credential helper the docker config names for HOST (its
# credHelpers entry, else its credsStore), read with sed (no jq); nothing when it names none.
# docker asks it before any request to the registry, and waits for it without a deadline.
credential_helper() {
  config=$(docker_config)
  [ -f "$config" ] && [ -r "$config" ] || return 0
  host_re=$(printf '%s' "$1" | sed 's/[].[*^$\\/]/\\&/g')
  LC_ALL=C tr '\n\r\t' '   ' <"$config" 2>/dev/null | LC_ALL=C sed -n -E \
    -e "s#.*\"(https?://)?$host_re(/[^\"]*)?\"[[:space:]]*:[[:space:]]*\"([A-Za-z0-9._-]+)\".*#\3#p" \
    -e 't' -e 's#.*"credsStore"[[:space:]]*:[[:space:]]*"([A-Za-z0-9._-]+)".*#\1#p' | sed -n 1p
}

# Why a registry refuses, as invalid_token, a token its own token server issued, and what
# makes it take them: resolve's TOKEN_UNVERIFIED and TOKEN_UNVERIFIED_FIX, word for word.
token_unverified="the clocks of the token server and the registry disagree (the token arrives expired or not yet valid), or the registry's token settings do not match its token server (its rootcertbundle lacks the certificate the tokens are signed with, as after a key rotation, or its issuer or service differs)"
token_unverified_fix="have the registry's operator check its log, its clock against the token server's, and its token settings (rootcertbundle, issuer, service) against the token server's"

# token_refused REF: whether REF's registry refused, as invalid_token, the token its own
# token server issued. docker's engine says that as a refusal of the credentials ("pull
# access denied ... may require 'docker login'"), so buildx's imagetools (docker's config and
# credentials, no engine) asks again, within the registry's deadline, and says the
# registry's word. No buildx, or another answer: not known (the pull's words stand).
token_refused() {
  in_session "$docker" buildx imagetools inspect --raw -- "$1" >"$work/token.log" 2>&1 </dev/null &
  pid=$!
  within "$registry_ticks" || :
  LC_ALL=C grep -q 'invalid_token' "$work/token.log"
}

# pull REF: docker pull under two deadlines (no GNU timeout needed): the registry
# must answer within $registry_timeout s, the whole pull finish within $pull_timeout s.
# Sets pull_class (available, unreachable, not-on-registry, auth-required,
# platform-missing, rate-limited, registry-error) and pull_detail; pull_fix for a registry
# error that trying again does not mend (resolve's fix); pull_slow when the pull
# itself outlasted STACK_PULL_TIMEOUT; pull_helper when docker said nothing in time and the
# docker config names a credential helper for the registry (it may be what docker waits on).
pull_slow='' pull_fix=''
pull() {
  log=$work/pull.log
  : >"$log"
  pull_fix=
  # the registry asked is REF's own (the base's may be another than the pre-built image's)
  if reference "$1"; then pull_host=${ref_repository%%/*}; else pull_host=$registry_host; fi
  # In a session of its own (in_session): the pull's process group holds docker and any
  # credential helper it runs, stopped together.
  in_session "$docker" pull --platform "$platform" -- "$1" >"$log" 2>&1 </dev/null &
  pid=$!
  ticks=0
  answered=false
  timed_out=
  pull_slow=
  pull_helper=
  while kill -0 "$pid" 2>/dev/null; do
    # Answered: docker says what it pulls (`REF: Pulling from PATH`, then the digest), which
    # it does once the registry answered. Not any output: the CLI's own warnings (a
    # config file it cannot parse) or `Using default tag` come before any request.
    if [ "$answered" = false ] && grep -q -e ': Pulling from ' -e '^Digest: ' -e '^Status: ' "$log"; then
      answered=true
    fi
    if [ "$answered" = false ] && [ "$ticks" -ge "$registry_ticks" ]; then
      timed_out="no answer from $pull_host within $registry_timeout s"
    elif [ "$ticks" -ge "$pull_ticks" ]; then
      timed_out="the pull did not finish within $pull_timeout s (STACK_PULL_TIMEOUT)"
      pull_slow=1
    fi
    if [ -n "$timed_out" ]; then
      break
    fi
    nap
    ticks=$((ticks + 1))
    if [ $((ticks % 75)) = 0 ]; then say "still pulling $1 ($((ticks / 5)) s)"; fi
  done
  if [ -n "$timed_out" ]; then
    # no "Terminated" from dash for a pull stopped at its deadline
    if stop_pull "$pid"; then wait "$pid" 2>/dev/null; fi
    pid=
    pull_class=unreachable
    pull_detail=$timed_out
    if [ "$answered" = false ]; then
      pull_helper=$(credential_helper "$pull_host")
      [ -z "$pull_helper" ] || pull_detail="$timed_out (docker said nothing: it asks the credential helper docker-credential-$pull_helper, which the docker config names for $pull_host, before the registry)"
    fi
    return 1
  fi
  wait "$pid" 2>/dev/null
  exit_status=$?
  pid=
  if [ "$exit_status" = 0 ]; then
    pull_class=available
    pull_detail="pulled $1"
    return 0
  fi
  engine_answers  # docker's EOF of an engine that went away is no registry's answer
  # docker's containerd image store keeps the record of a failed pull whose content it held
  # already (a registry answering a web page for a digest the store has): a record of no
  # manifest, which then stands for that digest under every name (compose: "error walking
  # manifest"). One the pull left under its own name is removed; a sound one never is.
  if ! engine "$docker" image inspect --format '{{.Id}}' -- "$1" >/dev/null \
    && ! LC_ALL=C grep -qi -e 'no such image' -e 'no such object' "$work/engine.err"; then
    engine "$docker" image rm -- "$1" >/dev/null || :
  fi
  pull_detail=$(LC_ALL=C grep -v '^[[:space:]]*$' "$log" | tail -n 1 | sed 's/^Error response from daemon: //')
  case $(lower "$pull_detail") in
    # an answer that is no manifest (a captive portal's web page): a broken answer, as
    # resolve says, though docker's words end in "not found"
    *"unexpected media type"* | *"unsupported manifest media type"* | *"invalid character '<'"*)
      pull_class=registry-error ;;
    # a token its own token server issued, refused (containerd's "server message:
    # invalid_token", where an engine passes it on): said below, as resolve says it
    *invalid_token*) pull_class=token-refused ;;
    # docker's words, then those of its containerd image store (pulling by digest)
    *"no matching manifest"* | *"no match for platform"*) pull_class="platform-missing" ;;
    *toomanyrequests* | *"too many requests"* | *" 429 "* | *"rate limit"*) pull_class=rate-limited ;;
    *unauthorized* | *"authentication required"* | *"no basic auth credentials"* | *denied* | *"docker login"* | \
      *"403 forbidden"*)
      pull_class=auth-required ;;  # 401 and 403, as resolve
    *"manifest unknown"* | *"not found"* | *"name unknown"*) pull_class=not-on-registry ;;
    *"connection refused"* | *"no such host"* | *timeout* | *"timed out"* | *unreachable* | \
      *"connection reset"* | *"server misbehaving"* | *"temporary failure"* | *eof* | \
      *"tls:"* | *x509:* | *"https client"*) pull_class=unreachable ;;  # TLS failed: as resolve
    *) pull_class=registry-error ;;
  esac
  if [ "$pull_class" = token-refused ] || { [ "$pull_class" = auth-required ] && token_refused "$1"; }; then
    pull_class=registry-error
    pull_detail="$pull_host refused the token its own token server issued (HTTP 401 invalid_token): it could not verify it, likely because $token_unverified"
    pull_fix=$token_unverified_fix
  fi
  return 1
}

# helper_fix NAME HOST: what to do about a credential helper that may hang (resolve's words).
helper_fix() {
  printf '%s' "a credential helper (docker-credential-$1) may be waiting, for a locked keychain or a pinentry: unlock it, and check that \`echo $2 | docker-credential-$1 get >/dev/null\` ends"
}

# problem CLASS DETAIL: sets why and advice, worded like `publisher resolve`.
problem() {
  case $1 in
    unreachable)
      why="registry $registry_host is offline or unreachable: $2"
      advice="check the network or proxy, ${try_other}or point PHP_IMAGE_REPOSITORY at a registry you can reach"
      [ -z "$pull_helper" ] || advice="$(helper_fix "$pull_helper" "$registry_host"); else $advice"
      # a pull cut short by its own deadline: a slow connection may need a longer one
      [ -z "$pull_slow" ] || advice="$slow_pull_fix, or $advice" ;;
    not-published)
      shown=$(printf '%s\n' "$lines" | sed 's/ /, /g')  # "8.3, 8.4", as resolve lists them
      why="PHP $php is not published for release $release ($2); published lines: ${shown:-none}"
      advice="set PHP_VERSION to a published line${shown:+ ($shown)}" ;;
    not-on-registry)
      why="$prebuilt is not on this registry (mirror not synced?): $2"
      advice="${try_other}take the release's current pins file (a republish replaces digests, and a registry may prune old ones), or copy the release's digests to $repository" ;;
    auth-required)
      why="authentication required: $2"
      advice="run \`docker login $registry_host\`" ;;
    platform-missing)
      why="platform $platform missing: $2"
      case $platform in linux/amd64) other=linux/arm64 ;; *) other=linux/amd64 ;; esac
      # the engine's own (DOCKER_DEFAULT_PLATFORM naming it too): the other one is emulated
      advice="set PHP_IMAGE_PLATFORM=$other to run it under emulation"
      if [ "$platform_from" = PHP_IMAGE_PLATFORM ]; then  # as resolve, which does not ask the engine then
        # DOCKER_DEFAULT_PLATFORM set too would be the platform once that one is unset
        advice="unset PHP_IMAGE_PLATFORM${docker_default:+ and DOCKER_DEFAULT_PLATFORM} to run the docker engine's own platform natively, or set PHP_IMAGE_PLATFORM=$other (under emulation unless the engine is $other)"
      elif [ "$platform_from" = DOCKER_DEFAULT_PLATFORM ] && [ "$engine_platform" = "$other" ]; then
        advice="unset DOCKER_DEFAULT_PLATFORM, or set PHP_IMAGE_PLATFORM=$other for this stack alone, to run the docker engine's own platform natively"
      fi ;;
    rate-limited)
      why="registry $registry_host rate-limited the pull: $2"
      if [ -n "$other_registry" ]; then
        advice="wait and try again, run \`docker login $registry_host\` for a higher limit, or set PREBUILT_REGISTRY=$other_registry"
      else
        advice="wait and try again, or run \`docker login $registry_host\` for a higher limit"
      fi ;;
    *)
      why="registry $registry_host failed: $2"
      advice="try again later"
      # a fault trying again does not mend (a token its own token server issued, refused)
      [ -z "$pull_fix" ] || advice="$pull_fix (trying again later does not help)"
      advice="$advice${other_registry:+, or set PREBUILT_REGISTRY=$other_registry}" ;;
  esac
}

# decided DECISION AVAILABILITY WHY [FIX]: the one line tests and people read.
decided() {
  decision_said=1
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

# compose ARGS...: docker compose ARGS that pulls and builds nothing (ps, logs, rm), under
# STACK_COMPOSE_TIMEOUT (compose_within).
compose() { compose_within "$@"; }

# composed ARGS...: docker compose ARGS (build, or up) in the background in a session of its
# own, as pulls (SIGINT or SIGTERM to the launcher stops it too, at once); its output shows as
# it comes and is kept in $work/compose.log. A terminal keeps a build's live display (its
# error is the last thing it shows there), so only a log or a pipe gets a build's output
# copied. up, which may pull phpMyAdmin, is stopped at STACK_PULL_TIMEOUT: exit 10 then (the
# engine took it and never answered); a build takes as long as its Dockerfile's steps do.
composed() {
  compose_log=$work/compose.log teed='' deadline=$pull_ticks
  [ "$1" != build ] || deadline=
  : >"$compose_log"
  if { [ "$1" != build ] || [ ! -t 2 ]; } && command -v tee >/dev/null 2>&1 \
    && rm -f "$work/compose.out" && mkfifo "$work/compose.out" 2>/dev/null; then
    tee "$compose_log" <"$work/compose.out" >&2 &
    teed=$!
    in_session "$docker" compose --project-name "$project_name" --file "$compose_file" "$@" >"$work/compose.out" 2>&1 &
  else
    in_session "$docker" compose --project-name "$project_name" --file "$compose_file" "$@" &
  fi  # docker itself, not a subshell running it: the pid a signal is passed on to
  pid=$!
  within "${deadline:-0}"
  exit_status=$?
  if [ -n "$teed" ]; then wait "$teed"; fi
  if [ "$exit_status" = 124 ] && [ -n "$deadline" ]; then
    compose_hung up "$pull_timeout" STACK_PULL_TIMEOUT "a large pull"
  fi
  return "$exit_status"
}

# compose_failed WHAT STATUS FIX: exit 11 (compose's own status could read as one of the
# launcher's codes: a failed build is 17 in compose v2), with compose's last line and FIX.
compose_failed() {
  engine_answers  # the engine gone in the middle of it: not the Dockerfile's fault
  esc=$(printf '\033')
  said=$(LC_ALL=C sed "s/$esc\[[0-9;]*[A-Za-z]//g" "$compose_log" 2>/dev/null | LC_ALL=C grep -v -e '^[[:space:]]*$' -e 'level=warning' \
    | tail -n 1 | LC_ALL=C tr -d '[:cntrl:]' | sed 's/^Error response from daemon: //')
  if [ -n "$said" ]; then said=": $said"; else said=" (its error is above)"; fi
  fail 11 "$1: docker compose exited with status $2$said
start: fix: $3"
}

# up_failed STATUS [WHAT]: why compose up failed to start WHAT (PHP-FPM), and what to do.
up_failed() {
  said=$(LC_ALL=C grep -v '^[[:space:]]*$' "$compose_log" 2>/dev/null | tail -n 1)
  case $said in
    *'is already in use by container'*)
      name=$(printf '%s\n' "$said" | sed -n 's/.*container name "\/\([^"]*\)".*/\1/p')
      fix="a container this stack did not create is named ${name:-that way}: remove it if it is left over (docker rm -f ${name:-NAME}), or set STACK_NAME to another name to run a separate stack" ;;
    *'port is already allocated'* | *'address already in use'*)
      port=$(printf '%s\n' "$said" | sed -n -e 's/.*:\([0-9][0-9]*\) failed: port is already allocated.*/\1/p' \
        -e 's/.*:\([0-9][0-9]*\): bind: address already in use.*/\1/p' | sed -n 1p)
      fix="port ${port:-it publishes} is taken by another stack or program: stop it (docker ps --filter publish=${port:-PORT} names a container holding it), or publish another port in $here/compose.yaml" ;;
    *docker-credential-*)  # compose's pull (of phpMyAdmin) asks the docker config's helper
      helper=$(printf '%s\n' "$said" | LC_ALL=C sed -n 's/.*docker-credential-\([A-Za-z0-9._-]*\).*/\1/p' | sed -n 1p)
      case $said in
        *'executable file not found'* | *'no such file or directory'*)
          fix="the credential helper docker-credential-$helper, which the docker config ($(docker_config)) names (credsStore or credHelpers), is not on PATH: add its folder to PATH (Docker Desktop's bin folder, e.g. /Applications/Docker.app/Contents/Resources/bin), or remove it from the docker config" ;;
        *)
          # another failure of the helper (a locked keychain): the registry it was asked about
          if reference "${PMA_IMAGE:-}"; then pma_host=${ref_repository%%/*}; else pma_host=docker.io; fi
          fix=$(helper_fix "$helper" "$pma_host") ;;
      esac ;;
    *'network '*'incorrect label'* | *'was not created by compose'*)
      fix="a network compose did not create holds this stack's network name (${project_name}_default): remove it (docker network rm ${project_name}_default), or set STACK_NAME to another name" ;;
    *)
      # a command that runs as printed: the path quoted for sh, with the STACK_NAME given
      stop_cmd="'$(printf '%s' "$here/stop.sh" | sed "s/'/'\\\\''/g")'"
      if [ -n "${STACK_NAME:-}" ]; then stop_cmd="STACK_NAME=$project_name $stop_cmd"; fi
      fix="what docker compose said is above; \`$stop_cmd\` removes what this stack left behind, then start again" ;;
  esac
  compose_failed "docker compose could not start ${2:-PHP-FPM}" "$1" "$fix"
}

# one_start_at_a_time: wait until no other start of this stack (STACK_NAME, from any folder,
# with this TMPDIR) builds or starts it: two compose runs of one project at once race on its
# container's and its network's names, and the loser would be told the stack did not create
# them. The lock is a folder (mkdir is atomic in every shell) naming its holder's pid; one
# whose holder is gone (killed -9, a crash) is taken over. It goes when this start ends.
# It is this user's alone (0700 whatever the umask: busybox's mkdir -m makes it with the
# umask's mode first, then changes it), so no other user may put a link in it, and its pid is
# written without following one (set -C): a file of this user's it named is never written.
# Another user's lock, which this user may not remove (in a shared /tmp), is waited for while
# a start touches it (nap: every 5 s), and given up, exit 17, once untouched for a minute (300
# naps; kill -0 cannot tell whether another user's pid runs): a start of theirs killed
# outright, or a folder made to block this stack.
one_start_at_a_time() {
  lock=$tmp_dir/php-stack-$project_name.lock waited='' locked='' unnamed=0 lock_naps=0
  trap 'rm -rf "$work"; if [ -n "$locked" ]; then rm -rf "$lock"; fi' EXIT  # never another's
  until (umask 077 && mkdir -m 700 "$lock") 2>/dev/null; do
    [ -d "$lock" ] || return 0  # no lock can be made there (mkdir fails): none is waited for
    holder=$(cat "$lock/pid" 2>/dev/null) || holder=
    # a holder writes its pid at once: none for 25 checks (5 s) is a start killed between
    # the two steps
    if [ -n "$holder" ]; then unnamed=0; else unnamed=$((unnamed + 1)); fi
    if { [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null \
      && [ "$(cat "$lock/pid" 2>/dev/null)" = "$holder" ]; } || [ "$unnamed" -ge 25 ]; then
      # its holder is gone; a lock this user may not remove (another user's, in a shared
      # /tmp) is waited for as a live one, never retried at once
      if rm -rf "$lock" 2>/dev/null && [ ! -d "$lock" ]; then unnamed=0; continue; fi
    fi
    if [ -z "$waited" ]; then
      waited=1
      touch "$work/lock.seen" 2>/dev/null || :  # the lock is looked at again a minute on
      if [ -n "$(find "$lock" -prune ! -user "$uid" 2>/dev/null)" ]; then
        owned "$lock"
        say "waiting for another start of the stack $project_name to finish: its lock $lock is user $of_owner's (waited for while a start of theirs touches it, every 5 s; given up once untouched for a minute)"
      else
        say "waiting for another start of the stack $project_name${holder:+ (pid $holder)} to finish (remove $lock if none is running)"
      fi
    fi
    nap
    lock_naps=$((lock_naps + 1))
    [ $((lock_naps % 300)) = 0 ] || continue
    if [ -n "$(find "$lock" -prune ! -user "$uid" ! -newer "$work/lock.seen" 2>/dev/null)" ]; then
      owned "$lock"
      fail 17 "the lock $lock of the stack $project_name is user $of_owner's, untouched for a minute: no start of theirs holds it any more (one killed outright, or a folder made to block this stack), and this user may not remove it
start: fix: ask user $of_owner or root to remove it, or start with a TMPDIR of your own: $own_tmpdir"
    fi
    touch "$work/lock.seen" 2>/dev/null || :
  done
  locked=1
  # Nothing is in a folder this start has just made, but what another process of this user's
  # (or root) put there: not written through.
  if ! (set -C && printf '%s\n' "$$" >"$lock/pid") 2>/dev/null \
    && { [ -e "$lock/pid" ] || [ -h "$lock/pid" ]; }; then
    planted="a file"
    [ ! -h "$lock/pid" ] || planted="a symbolic link"
    fail 17 "$lock/pid is $planted this start did not make, in the lock folder it had just made: not written through (something else writes in ${tmp_dir:-/})
start: fix: see what writes in ${tmp_dir:-/}, or start with a TMPDIR of your own: $own_tmpdir"
  fi
}

start() {  # start IMAGE BUILD(true|false)
  one_start_at_a_time
  PHP_IMAGE=$1 PHP_PLATFORM=$platform PHP_BUILD_CONTEXT=$context PHP_BASE_IMAGE=${base:-unset}
  PHP_VERSION=$php STACK_RELEASE=$release PHP_DOCKERFILE_DIGEST=$dockerfile_digest
  export PHP_IMAGE PHP_PLATFORM PHP_BUILD_CONTEXT PHP_BASE_IMAGE PHP_VERSION STACK_RELEASE \
    PHP_DOCKERFILE_DIGEST
  if [ -n "${PMA_IMAGE:-}" ]; then export PMA_IMAGE; fi
  # DOCKER_DEFAULT_PLATFORM set (even one PHP_IMAGE_PLATFORM overrides, or linux/arm64/v8):
  # compose's build takes it over the service's platform, and refuses one that differs in
  # its spelling; it gets the platform decided on.
  if [ -n "${DOCKER_DEFAULT_PLATFORM+set}" ]; then
    DOCKER_DEFAULT_PLATFORM=$platform
    export DOCKER_DEFAULT_PLATFORM
  fi
  if [ "$2" = true ]; then
    say "building $1 from $dockerfile (base ${base:-the Dockerfile default})"
    composed build php || compose_failed "the local build of $1 failed" $? \
      "$dockerfile must build on ${base:-its base}: take the release's Dockerfile again if it was edited; its package steps (apk add, pecl install) need the network the first time; or use the pre-built image (USE_PREBUILT=true, with its registry reachable)"
  fi
  # The same STACK_NAME started from another folder (another project's vendored copy) is
  # one stack to compose: its PHP-FPM is replaced by this one, said below.
  was=$(engine "$docker" ps --all --filter "label=com.docker.compose.project=$project_name" \
    --filter label=com.docker.compose.service=php --format '{{.Label "com.docker.compose.project.config_files"}}') \
    || { hung; was=; }
  was=$(printf '%s\n' "$was" | sed -n 1p)
  composed up --detach --no-build --pull never php || up_failed $?
  stopped_at_once "$1"
  # PMA_IMAGE set: phpMyAdmin too (compose.yaml's profile pma), pulled by compose when it is
  # not here (its own pull policy: --pull never is PHP-FPM's alone), PHP-FPM left as it is.
  if [ -n "${PMA_IMAGE:-}" ]; then
    without_credentials "$PMA_IMAGE" || :  # never a password, in $shown
    composed --profile pma up --detach --no-build --no-deps pma || up_failed $? "phpMyAdmin ($shown)"
  fi
  say "started $1 ($platform)"
  if [ -n "${PMA_IMAGE:-}" ]; then say "started phpMyAdmin $shown"; fi
  if [ -n "$was" ] && [ "$was" != "$here/compose.yaml" ]; then
    say "note: this replaced the stack $project_name started from ${was%/*}: to run both, give each its own STACK_NAME"
  fi
  prune_superseded
  exit 0
}

# stopped_at_once IMAGE: exit 17 when PHP-FPM, which compose just started from IMAGE, stopped
# as soon as it started (a Dockerfile or a configuration it fails on; another platform than
# the engine's on an engine without emulation, which shows only once the container runs): 2 s
# on, the launcher looks, whatever the platform. Restarted (restart: unless-stopped) counts:
# between two restarts it is running. Emulation is blamed only when what the container said
# shows it failing: exec format error (docker 26 then says exit status 1, and may lose the
# line of a process that died at once), or exit status 1, 126 or 255 with nothing said.
stopped_at_once() {
  sleep 2
  container=$(engine "$docker" ps --all --quiet --filter "label=com.docker.compose.project=$project_name" \
    --filter label=com.docker.compose.service=php) || { hung; container=; }
  container=$(printf '%s\n' "$container" | sed -n 1p)
  # Restarting, it shows its last exit status; running again between two restarts, none (0):
  # looked at again, 0.2 s apart, up to 5 times, for the status that tells emulation failing.
  looks=0
  while :; do
    state=$(engine "$docker" inspect --format '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}' "$container") \
      || state=
    case $state in '' | 'running 0 '*) return 0 ;; 'running '*) ;; *) break ;; esac
    [ "$looks" -lt 5 ] || break
    looks=$((looks + 1))
    nap
  done
  restarts=${state#* } how="docker says ${state%% *}"
  if [ "${restarts%% *}" != 0 ]; then how="$how, restarted ${restarts%% *} times"; fi
  if [ "${state##* }" != 0 ]; then how="$how, exit status ${state##* }"; fi
  esc=$(printf '\033')  # terminal sequences in the log (ESC [ 2 K) are not shown
  compose logs --no-color --no-log-prefix --tail 5 php >"$work/logs.out" 2>&1 || :
  LC_ALL=C sed "s/$esc\[[0-9;]*[A-Za-z]//g" "$work/logs.out" | LC_ALL=C grep -v '^[[:space:]]*$' >"$work/logs.said"
  said=$(tail -n 1 "$work/logs.said" | LC_ALL=C tr -d '[:cntrl:]')
  # No restart loop left behind: the container goes (its last line is said below).
  compose rm --stop --force php >/dev/null 2>&1 || :
  emulation=
  if [ "$platform" != "$engine_platform" ]; then
    if LC_ALL=C grep -qi 'exec format error' "$work/logs.said"; then
      emulation=1
    elif [ -z "$said" ]; then
      case ${state##* } in 1 | 126 | 255) emulation=1 ;; esac
    fi
  fi
  if [ -z "$emulation" ]; then
    if [ "$1" = "$local_image" ]; then
      check="check $dockerfile, which this image was built from (take the release's again if it was edited), and the PHP-FPM configuration it sets up"
    else
      check="check what $here/compose.yaml gives the php service (its volumes, environment, command), and the PHP-FPM configuration the release's $dockerfile sets up"
    fi
    fail 17 "PHP-FPM ($platform) stopped as soon as it started ($how)${said:+: $said}
start: fix: $check; \`$docker run --rm --platform $platform $1\` shows all it says"
  fi
  native=
  case $engine_platform in
    linux/amd64 | linux/arm64)  # linux/arm, linux/386: no value either tool takes
      native=", or set PHP_IMAGE_PLATFORM=$engine_platform"
      [ "$platform_from" != DOCKER_DEFAULT_PLATFORM ] || native="$native (or unset DOCKER_DEFAULT_PLATFORM, which gave $platform)" ;;
    *) engine_platform="$engine_platform, which no PHP-FPM image is built for" ;;
  esac
  fail 17 "PHP-FPM ($platform) stopped as soon as it started ($how)${said:+: $said}
start: fix: this docker engine is $engine_platform: $platform images run under emulation (Docker Desktop has it; Linux: docker run --privileged --rm tonistiigi/binfmt --install ${platform#linux/})$native"
}

# prune_superseded: remove this release's local builds of PHP $php made on another
# base than the pins file's (the tag is keyed on the base digest, so none is ever
# started again), and one tagged before that key existed. The one on the pins
# file's base stays for the next offline start; an image a container still uses is
# kept by the engine. The stack is up by now: nothing here changes the exit status.
prune_superseded() {
  repo=${local_image%:*}
  listed=$(engine "$docker" image ls --format '{{.Repository}}:{{.Tag}}' -- "$repo") || return 0
  for old in $listed; do
    case $old in
      "$local_image") continue ;;
      "$repo:$release-php-$php" | "$repo:$release-php-$php-base-"*) ;;
      *) continue ;;
    esac
    if engine "$docker" image rm -- "$old" >/dev/null; then
      say "removed $old: a local build of PHP $php on another base than the pins file's"
    fi
  done
}

# base_fix CLASS: what makes the base obtainable, for why its pull failed (resolve's words);
# the pre-built image is named as the other thing to pull only for a line the pins file lists.
base_fix() {
  if reference "$base"; then base_host=${ref_repository%%/*}; else base_host="its registry"; fi
  or_prebuilt=" (or the pre-built image)"
  [ -n "$prebuilt" ] || or_prebuilt=
  case $1 in
    unreachable)
      if [ -n "$pull_slow" ]; then  # the registry answered: the pull was cut short
        echo "$slow_pull_fix, or pull the base once yourself (\`docker pull --platform $platform $base\`, which has no deadline)"
      elif [ -n "$pull_helper" ]; then
        echo "$(helper_fix "$pull_helper" "$base_host"); else pull $base$or_prebuilt once while online"
      else
        echo "pull $base$or_prebuilt once while online"
      fi ;;
    not-on-registry) echo "take the release's current pins file and Dockerfiles: the base $base is no longer on its registry" ;;
    auth-required) echo "run \`docker login $base_host\` to pull the base $base" ;;
    rate-limited) echo "pull $base once $base_host allows it again (\`docker login $base_host\` raises the limit)" ;;
    platform-missing) echo "set PHP_IMAGE_PLATFORM to a platform the base $base has" ;;
    *) echo "pull $base$or_prebuilt once $base_host answers" ;;
  esac
}

# fetched REF: pull REF, then find it in the image store for the platform: an image that is
# one platform's (no index) is pulled by its digest whatever --platform asks, and compose
# finds no image for another platform. That one is platform-missing, in resolve's words. An
# index listing an index for the platform (an index of indexes) is pulled too, and compose
# then stops on it: that one is registry-error, in resolve's words, before any compose up.
fetched() {
  pull "$1" || return 1
  ! cached "$1" || return 0
  named=$1
  if reference "$1"; then  # as resolve names it: host/path and the digest, else the tag
    case ${1##*/} in *@*) named=$ref_repository@$ref_digest ;; *:*) named=$ref_repository:${1##*:} ;; *) named=$ref_repository:latest ;; esac
  fi
  if [ -n "$unrunnable" ]; then
    pull_class=registry-error
    case $(lower "$unrunnable") in
      *index* | *manifest.list*)
        pull_detail="$named is an index of image indexes, which resolve does not read (it lists an index where it should list the $platform image)" ;;
      *) pull_detail="$named: $unrunnable" ;;
    esac
    return 1
  fi
  has=$(engine "$docker" image inspect --format '{{.Os}}/{{.Architecture}}{{with .Variant}}/{{.}}{{end}}' -- "$1") \
    || { hung; has=; }
  case $has in linux/arm64/v8) has=linux/arm64 ;; esac  # as resolve names it
  pull_class="platform-missing"
  pull_detail="$named has no $platform image (it has: ${has:-none})"
  return 1
}

# build_or_stop AVAILABILITY WHY ADVICE: the local build, when it can work.
build_or_stop() {
  if [ -z "$buildable" ]; then
    cannot_proceed "$1" "$2; the local build fallback is allowed, but $no_dockerfile" "$3; or $dockerfile_fix"
  fi
  if [ -n "$base" ] && { [ "$cache_check" = false ] || ! cached "$base"; }; then
    # A build starts by pulling its base: find out now, not after a doomed build. With
    # PHP_IMAGE_CACHE_CHECK=false its registry is asked first, and a base it cannot give
    # is still the one in the image store, which compose builds on (as resolve).
    if ! fetched "$base" && { [ "$cache_check" = true ] || ! cached "$base"; }; then
      cannot_proceed "$1" "$2; a local build cannot work either: its base $base is not in the local image store and cannot be pulled ($pull_class: $pull_detail)" \
        "$3; or $(base_fix "$pull_class")"
    fi
  fi
}

# ------------------------------------------------------------------ decide

# a stand-in matrix's release, rehearsed (--local) or published: the pins file says which neither
# (resolve.STAND_IN_WARNING: the words of the summary of such a release)
[ "$stand_in" = true ] && say "STAND-IN images, built on stand-in base images, not the official php images: do not use them"
note=
if [ "$use_prebuilt" = true ] && [ "$which_registry" = mirror ] \
  && [ -z "$mirror" ] && [ -z "$mirror_override" ]; then
  note="PREBUILT_REGISTRY=mirror, but the pins file names no mirror (a release on one registry) and PHP_IMAGE_MIRROR is not set: the images come from $repository"
fi
# docker's default platform, set for every project, is said when it is not the engine's own.
if [ "$platform_from" = DOCKER_DEFAULT_PLATFORM ] && [ "$platform" != "$engine_platform" ]; then
  case $engine_platform in
    linux/amd64 | linux/arm64)
      note="${note:+$note; }platform $platform (DOCKER_DEFAULT_PLATFORM; emulated on this $engine_platform engine): set PHP_IMAGE_PLATFORM=$engine_platform to run the engine's own natively" ;;
    *)  # linux/arm, linux/386: no value either tool takes
      note="${note:+$note; }platform $platform (DOCKER_DEFAULT_PLATFORM; emulated on this $engine_platform engine, which no PHP-FPM image is built for: they are linux/amd64 and linux/arm64 only)" ;;
  esac
fi
[ -z "$ended" ] || note="${note:+$note; }$ended"  # said last, as resolve says it

if [ "$use_prebuilt" = false ]; then
  if [ -z "$buildable" ]; then
    cannot_proceed none "USE_PREBUILT=false, but $no_dockerfile" "$dockerfile_fix"
  fi
  # a line the pins file lists has a pre-built image; another line has none
  if [ -n "$prebuilt" ]; then
    build_or_stop none "USE_PREBUILT=false" "set USE_PREBUILT=true to use the pre-built image"
  else
    problem not-published ""
    build_or_stop none "USE_PREBUILT=false" "$advice and set USE_PREBUILT=true to use its pre-built image"
  fi
  decided build-locally none "USE_PREBUILT=false: building $local_image locally from $dockerfile"
  start "$local_image" true
fi

# The pre-built image: from the pins, the local image store, then the registry.
class=
if [ -z "$prebuilt" ]; then
  class=not-published
  detail="the pins file $pins lists no PHP $php image"
else
  platforms=$(in_order platforms "$(pin "PHP_PLATFORMS_$key")")
  # None recorded (PHP_PLATFORMS_X_Y empty or missing): the registry is asked, as resolve.
  if [ -n "$platforms" ]; then
    case " $platforms " in
      *" $platform "*) ;;
      *) class="platform-missing"
         shown=$(printf '%s\n' "$platforms" | sed 's/ /, /g')  # as resolve
         detail="$prebuilt has no $platform image (it has: $shown; pins file)" ;;
    esac
  fi
fi
if [ -z "$class" ]; then
  if [ "$cache_check" = true ] && cached "$prebuilt"; then
    decided use-prebuilt cached "pre-built image $prebuilt is in the local image store (no registry request) for $platform"
    start "$prebuilt" false
  fi
  say "pulling $prebuilt for $platform (the registry has $registry_timeout s to answer)"
  if fetched "$prebuilt"; then
    decided use-prebuilt available "pre-built image $prebuilt is available for $platform"
    start "$prebuilt" false
  fi
  class=$pull_class
  detail=$pull_detail
fi

problem "$class" "$detail"
if [ "$allow_fallback" = false ]; then
  if [ -n "$buildable" ]; then  # not one it may not read: that one is said, as the folder's
    fix="$advice; or set ALLOW_LOCAL_BUILD_FALLBACK=true to build locally from $dockerfile"
  else
    fix="$advice; or, to build locally, set ALLOW_LOCAL_BUILD_FALLBACK=true and PHP_DOCKERFILES to the directory holding <X.Y>/Dockerfile ($no_dockerfile)"
  fi
  cannot_proceed "$class" "$why; the local build fallback is disabled (ALLOW_LOCAL_BUILD_FALLBACK=false)" "$fix"
fi
# An earlier start's local build on the pins file's base needs no base (offline, after a
# `docker image prune -a` took the base), nor a Dockerfile this user may read: looked for
# before the base is (as resolve), unless there is no Dockerfile at all. One built from
# another Dockerfile than this one (its label, none for a build of an earlier launcher) is
# not started again, and said so in a note: a build from a Dockerfile since corrected.
reuse=
if { [ -f "$dockerfile" ] || [ -n "$dockerfile_denied" ]; } && [ "$cache_check" = true ] \
  && cached "$local_image"; then
  reuse=1
  if [ -n "$dockerfile_digest" ]; then
    built_from=$(engine "$docker" image inspect --format '{{index .Config.Labels "dev.publisher.dockerfile"}}' -- "$local_image") \
      || { hung; engine_answers; built_from=; }
    if [ "$built_from" != "$dockerfile_digest" ]; then
      reuse=
      [ -n "$built_from" ] || built_from=none
      note="${note:+$note; }the local build $local_image of an earlier start is not started again: it was built from another Dockerfile than $dockerfile (its label dev.publisher.dockerfile: $(printable "$built_from"); the file's: $dockerfile_digest)"
    fi
  fi
fi
[ -n "$reuse" ] || build_or_stop "$class" "$why" "$advice"
# PHP_IMAGE_CACHE_CHECK=false looks for it neither: built anew (docker's build cache), as resolve.
if [ -n "$reuse" ]; then
  decided build-locally "$class" "$why; using the local build $local_image from an earlier start (ALLOW_LOCAL_BUILD_FALLBACK=true; remove it to rebuild)"
  start "$local_image" false
fi
decided build-locally "$class" "$why; falling back to a local build of $local_image from $dockerfile (ALLOW_LOCAL_BUILD_FALLBACK=true)"
start "$local_image" true
