#!/usr/bin/env bash
# Sign every index digest listed in a release notes JSON (lines[].references:
# one REPOSITORY@DIGEST per registry) with cosign, keylessly: the certificate
# carries this workflow's identity (id-token: write). Registry logins must be done.
#
#   sign-release.sh release-notes/vX.Y.Z.json
#
# Verification commands are in the release notes.
set -euo pipefail

notes="${1:?usage: sign-release.sh release-notes/vX.Y.Z.json}"

if [ "$(jq -r '.stand_in' "$notes")" = "true" ]; then
  echo "stand-in release: nothing to sign"
  exit 0
fi

mapfile -t refs < <(jq -r '.lines[].references[]' "$notes")
if [ "${#refs[@]}" -eq 0 ]; then
  echo "no index digests in $notes" >&2
  exit 1
fi

for ref in "${refs[@]}"; do
  case "$ref" in
    *@sha256:*) ;;
    *) echo "refusing to sign $ref: not pinned by digest" >&2; exit 1 ;;
  esac
  echo "+ cosign sign --yes $ref"
  cosign sign --yes "$ref"
done
