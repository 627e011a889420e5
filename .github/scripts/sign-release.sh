#!/usr/bin/env bash
# Sign every index digest listed in a release notes JSON (lines[].references:
# one REPOSITORY@DIGEST per registry) with cosign, keylessly: the certificate
# carries this workflow's identity (id-token: write). Registry logins must be done.
#
#   sign-release.sh release-notes/vX.Y.Z.json
#
# Verification commands are in the release notes. Stand-in releases are not signed.
set -euo pipefail

notes="${1:?usage: sign-release.sh release-notes/vX.Y.Z.json}"

# Fails (and so fails the step) when the notes are missing or malformed.
refs_text="$(python3 - "$notes" <<'PY'
import json, sys

with open(sys.argv[1], encoding="utf-8") as handle:
    data = json.load(handle)
if data.get("stand_in"):
    print("stand-in release: nothing to sign", file=sys.stderr)
    sys.exit(0)
refs = [ref for line in data["lines"] for ref in line["references"].values()]
if not refs:
    sys.exit(f"no index digests in {sys.argv[1]}")
print("\n".join(refs))
PY
)"

[ -n "$refs_text" ] || exit 0
mapfile -t refs <<< "$refs_text"

for ref in "${refs[@]}"; do
  case "$ref" in
    *@sha256:*) ;;
    *) echo "refusing to sign $ref: not pinned by digest" >&2; exit 1 ;;
  esac
  echo "+ cosign sign --yes $ref"
  cosign sign --yes "$ref"
done
