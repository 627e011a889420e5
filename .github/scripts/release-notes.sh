#!/usr/bin/env bash
# Keep release-notes/ in the repository from the publish jobs of release.yml and
# republish.yml (see docs/workflows.md):
#
#   release-notes.sh sync   before publishing: bring release-notes/ (size history,
#                           earlier notes) from the default branch into the checkout,
#                           so the new notes build on the newest history; a
#                           record of RELEASE_TAG the default branch lacks is taken
#                           from its open notes branch release-notes/$RELEASE_TAG
#                           (not merged yet: a rerun, a republish)
#   release-notes.sh pr     after publishing: commit release-notes/ on the branch
#                           release-notes/$RELEASE_TAG and open (or update) a pull
#                           request into the default branch
#
# Environment: GH_TOKEN (the job's GITHUB_TOKEN; used by git through gh's credential
# helper, never written to disk), DEFAULT_BRANCH, and RELEASE_TAG (needed by `pr`).
set -euo pipefail

: "${GH_TOKEN:?GH_TOKEN must hold the job token}"
: "${DEFAULT_BRANCH:?DEFAULT_BRANCH must name the branch the notes go to}"

# git asks gh for credentials, and gh reads GH_TOKEN from the environment.
gh auth setup-git

fetch_default() {
  git fetch --quiet --no-tags --depth=1 origin "refs/heads/$DEFAULT_BRANCH"
}

case "${1:-}" in
  sync)
    fetch_default
    if git cat-file -e "FETCH_HEAD:release-notes" 2>/dev/null; then
      git checkout FETCH_HEAD -- release-notes
      echo "release-notes/ taken from $DEFAULT_BRANCH"
    else
      echo "no release-notes/ on $DEFAULT_BRANCH yet"
    fi
    # A republish of a release whose notes pull request is not merged yet: its record is
    # on that branch only. Without it the republish would write a record of the lines it
    # rebuilt alone, and the pull request step would push it over the release's own.
    if [ -n "${RELEASE_TAG:-}" ] && [ ! -e "release-notes/$RELEASE_TAG.json" ] &&
      git fetch --quiet --no-tags --depth=1 origin "refs/heads/release-notes/$RELEASE_TAG" 2>/dev/null &&
      git cat-file -e "FETCH_HEAD:release-notes/$RELEASE_TAG.json" 2>/dev/null; then
      mkdir -p release-notes
      for ext in json md env; do
        if git cat-file -e "FETCH_HEAD:release-notes/$RELEASE_TAG.$ext" 2>/dev/null; then
          git show "FETCH_HEAD:release-notes/$RELEASE_TAG.$ext" >"release-notes/$RELEASE_TAG.$ext"
        fi
      done
      echo "release-notes/$RELEASE_TAG.* taken from the branch release-notes/$RELEASE_TAG (its notes pull request, not merged yet)"
    fi
    ;;
  pr)
    : "${RELEASE_TAG:?RELEASE_TAG must name the release}"
    branch="release-notes/$RELEASE_TAG"
    saved="$(mktemp -d)"
    cp -R release-notes/. "$saved/"
    fetch_default
    git switch --quiet --discard-changes --force-create "$branch" FETCH_HEAD
    mkdir -p release-notes
    cp -R "$saved/." release-notes/
    git add release-notes
    if git diff --cached --quiet; then
      echo "release-notes/ on $DEFAULT_BRANCH already holds these notes; no pull request needed"
      exit 0
    fi
    git -c user.name="github-actions[bot]" \
        -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
        commit --quiet -m "Release notes for $RELEASE_TAG"
    git push --quiet --force origin "HEAD:refs/heads/$branch"
    url="$(gh pr list --head "$branch" --base "$DEFAULT_BRANCH" --state open --json url --jq '.[0].url // empty')"
    if [ -n "$url" ]; then
      echo "updated the pull request $url"
    else
      gh pr create --base "$DEFAULT_BRANCH" --head "$branch" \
        --title "Release notes for $RELEASE_TAG" \
        --body "Release notes, digests and size history written by the publish job for $RELEASE_TAG."
    fi
    ;;
  *)
    echo "usage: $0 sync|pr" >&2
    exit 2
    ;;
esac
