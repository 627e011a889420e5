#!/usr/bin/env bash
# Sign every index digest listed in a release notes JSON (lines[].references:
# one REPOSITORY@DIGEST per registry) with cosign, keylessly: the certificate
# carries this workflow's identity (id-token: write). Registry logins must be done.
#
#   sign-release.sh release-notes/vX.Y.Z.json
#
# A digest that already carries a cosign signature is skipped ("already signed"):
# keyless signing has no duplicate check, so each run would add one more signature
# to every line (a rerun, the weekly republish of one line). The registry is read
# with skopeo (the docker logins' credentials): the tag sha256-HEX.sig (cosign before
# v3, or --new-bundle-format=false), or a Sigstore bundle referring to the digest
# (cosign v3, OCI 1.1) listed in the tag sha256-HEX, the OCI referrers tag schema
# Docker Hub and GHCR keep for want of the referrers API. A read that finds neither,
# or fails, counts as unsigned: the digest is signed (at worst once more).
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
done
command -v skopeo >/dev/null || {
  echo "skopeo is needed to find the digests already signed (ubuntu runners have it)" >&2
  exit 1
}

# Succeeds when REPOSITORY@sha256:HEX carries a signature (see the top of this file).
signed() {
  local repository="${1%@*}" digest="${1#*@}" listed
  local tag="${digest/:/-}"
  skopeo inspect --raw "docker://$repository:$tag.sig" >/dev/null 2>&1 && return 0
  listed="$(skopeo inspect --raw "docker://$repository:$tag" 2>/dev/null)" || return 1
  # An entry of the referrers index, or the manifest it names, is a Sigstore bundle.
  python3 - "$repository" "$listed" <<'PY'
import json, subprocess, sys

repository, listed = sys.argv[1], sys.argv[2]
BUNDLE = "application/vnd.dev.sigstore.bundle"


def bundle(manifest):
    types = [manifest.get("artifactType"), manifest.get("config", {}).get("artifactType")]
    types += [layer.get("mediaType") for layer in manifest.get("layers", [])]
    return any(str(t).startswith(BUNDLE) for t in types if t)


try:
    entries = json.loads(listed).get("manifests", [])
except (ValueError, AttributeError):
    sys.exit(1)
for entry in entries:
    if str(entry.get("artifactType", "")).startswith(BUNDLE):
        sys.exit(0)
    # go-containerregistry (in cosign) does not copy artifactType into this index
    read = subprocess.run(
        ["skopeo", "inspect", "--raw", f"docker://{repository}@{entry.get('digest')}"],
        capture_output=True,
        text=True,
    )
    try:
        if read.returncode == 0 and bundle(json.loads(read.stdout)):
            sys.exit(0)
    except (ValueError, AttributeError):
        pass
sys.exit(1)
PY
}

for ref in "${refs[@]}"; do
  if signed "$ref"; then
    echo "already signed: $ref"
    continue
  fi
  echo "+ cosign sign --yes $ref"
  cosign sign --yes "$ref"
done
