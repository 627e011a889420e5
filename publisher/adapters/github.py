"""GitHub releases through PyGithub: find by tag, create if missing, update if present.

The one adapter that talks to GitHub. Every PyGithub and transport exception is
turned into ``GitHubError`` here, with a message that names the token and the
permission to grant, so nothing above this module sees a third-party exception: PyGithub's
own failures on an answer neither (an address in it on another host or port than the API's,
a redirect it refuses), which it raises as assertions and runtime errors.

The API base URL comes from ``GITHUB_API_URL`` (set by Actions; GitHub
Enterprise Server uses ``https://HOST/api/v3``; tests point it at a local fake
server), the token from ``GITHUB_TOKEN`` and the repository from
``GITHUB_REPOSITORY``. The token is masked before it is first used.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import logging
import math
import os
import re
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import github
import requests
import urllib3
from github import Auth, Github, GithubException, GithubRetry
from github.Requester import Requester
from requests import exceptions as requests_exceptions
from urllib3 import HTTPHeaderDict
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from ..core.errors import GitHubError, InvalidVersionError, UsageError, clip, file_error
from ..core.retry import RetryPolicy
from ..core.version import Release, parse_release
from ..resolve import small_number
from . import network
from .output import Output

DEFAULT_API_URL = "https://api.github.com"
ENV_API_URL = "GITHUB_API_URL"
ENV_TOKEN = "GITHUB_TOKEN"
ENV_REPOSITORY = "GITHUB_REPOSITORY"
#: GitHub rejects a release body longer than this ("characters"; gh-release cuts notes to
#: fit it in UTF-8 bytes, ``notes.body_size``, which fits whichever GitHub counts).
MAX_BODY = 125_000
#: Releases (and assets) a page of a list holds: GitHub's most (its default is 30).
LIST_PAGE = 100
#: Appended to an asset's name while its replacement is uploaded.
_UPLOADING = ".uploading"

_REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
#: What a token may hold: printable ASCII without spaces (it goes into an HTTP header).
_TOKEN_RE = re.compile(r"[!-~]+")
_PERMISSION_HINT = (
    "the token in {env} needs write access to the repository's contents: in a workflow, give the "
    "job `permissions: contents: write`; for a personal or fine-grained token, grant "
    '"Contents: Read and write" on {repo}'
)


def _token_hint(env: str) -> str:
    return (
        f"set {env}; in a workflow pass `{env}: ${{{{ secrets.GITHUB_TOKEN }}}}` through the "
        "step's env"
    )


def check_api_url(url: str) -> str:
    """``url`` without a trailing slash when it can be the GitHub API's base URL.

    An absolute http(s) URL with a host (and a valid port): ``https://api.github.com``
    or, for GitHub Enterprise Server, ``https://HOST/api/v3``. Anything else is a
    ``UsageError`` naming ``GITHUB_API_URL``, raised before any request.
    """
    hint = (
        f"set {ENV_API_URL} to the API's base URL, e.g. {DEFAULT_API_URL} or "
        f"https://HOST/api/v3 for GitHub Enterprise Server; unset it for github.com"
    )
    shown = re.sub(r"//[^/]*@", "//***@", url)  # never echo credentials,
    shown = re.sub(r"[?#].*", "?***", shown, flags=re.DOTALL)  # nor a token in the query
    shown = shown if len(shown) <= 80 else shown[:77] + "..."

    def fail(problem: str) -> UsageError:
        return UsageError(f"{ENV_API_URL}={shown!r} {problem}", hint=hint)

    if not url.isprintable() or any(c.isspace() for c in url):
        raise fail("holds spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise fail(f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise fail("is not an http:// or https:// URL")
    if not parts.hostname:
        raise fail("names no host")
    if port == 0:
        raise fail("has port 0")
    if parts.username is not None or parts.password is not None:
        raise fail("carries credentials; the token belongs in GITHUB_TOKEN, not in the URL")
    if parts.query or parts.fragment:
        raise fail("has a query or a fragment; give the base URL only")
    return url.rstrip("/")


@dataclass(frozen=True)
class ReleaseResult:
    """What ``upsert`` did to the release."""

    action: str  # "created", "updated" or "unchanged"
    tag: str
    url: str
    id: int
    latest: bool
    #: a draft (found, never made by publisher): left a draft, so GitHub marks it nothing
    draft: bool = False


@dataclass(frozen=True)
class Settings:
    """Transport settings; tests shrink the retries and the pacing."""

    #: each request's time limit in whole seconds, as PyGithub takes it (to connect, and
    #: then for each read of its answer): None for the retry policy's ``request_timeout``
    #: (``PUBLISHER_REQUEST_TIMEOUT``); rounded up, never more than its total time
    timeout: int | None = None
    #: the run's retry policy (``PUBLISHER_RETRY_*``), as a registry request's: its
    #: attempts, its waits (exponential, from ``initial_delay`` to ``max_delay``) and its
    #: total time, checked before each wait; one attempt is no retry after a failure (a
    #: rate limit is waited for all the same)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    seconds_between_requests: float = 0.25
    seconds_between_writes: float = 1.0
    #: longest wait, all retries of a request together, for a rate limit (its reset, or a
    #: Retry-After); a longer one fails at once, saying how long GitHub asks to wait
    max_wait: float = 120.0
    #: the wait for a secondary rate limit that names none: GitHub's docs ask for a minute
    secondary_wait: float = 60.0


def is_latest(release: Release, other_tags: Iterable[str]) -> bool:
    """Whether ``release`` should be GitHub's "latest": stable and no higher stable release.

    Pure. A backport (v1.0.1 after v1.1.0) or a prerelease never takes "latest",
    like the ``latest`` image tag.
    """
    if not release.is_stable:
        return False
    for tag in other_tags:
        try:
            other = parse_release(tag)
        except InvalidVersionError:
            continue  # not a release tag: ignore
        if other.is_stable and release < other:
            return False
    return True


def same_body(on_github: str | None, body: str) -> bool:
    """Whether a release body GitHub holds says what ``body`` says.

    Pure. GitHub's web editor saves a body with CRLF line ends, and GitHub gives an empty
    one as null: line ends, and white space ending the whole body, are not compared, so
    notes saved there unedited are no reason to send them again. Everything else is, the
    spaces ending a line too (two of them are a line break in Markdown).
    """

    def normal(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()

    return normal(on_github or "") == normal(body)


class GitHubReleases:
    """The releases of one repository."""

    def __init__(
        self,
        repository: str,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        output: Output | None = None,
        settings: Settings | None = None,
        token_env: str = ENV_TOKEN,
    ) -> None:
        if not _REPO_RE.fullmatch(repository) or repository.split("/")[1] in (".", ".."):
            raise UsageError(
                f"{repository!r} is not a GitHub repository name",
                hint=f"write OWNER/NAME, or set {ENV_REPOSITORY} (Actions sets it)",
            )
        if not token.strip():
            raise UsageError(f"no GitHub token: {token_env} is empty", hint=_token_hint(token_env))
        if not _TOKEN_RE.fullmatch(token):
            # Never echo it: a malformed token is still a secret.
            raise UsageError(
                f"the token in {token_env} holds spaces, line breaks or characters a "
                "GitHub token never has",
                hint=f"set {token_env} to the token alone (a stray newline, quote or space from "
                "copying it?)",
            )
        self.repository = repository
        self.api_url = check_api_url(api_url)
        self.output = output or Output()
        self.output.mask(token)
        self.token_env = token_env
        s = settings or Settings()
        policy = s.retry
        #: the method of each request retried after a failure (a 5xx, no answer), in turn
        self._retried: list[str] = []
        limit = math.ceil(policy.request_timeout) if s.timeout is None else s.timeout
        self.timeout = max(1, min(limit, math.ceil(policy.total_timeout)))
        self.total_timeout = policy.total_timeout
        # a rate limit is waited for whatever the attempts: they bound retries after a
        # failure alone, so one attempt still needs this retry, retrying no 5xx
        retry = _BoundedRetry(
            total=policy.attempts - 1,
            policy=policy,
            request_timeout=self.timeout,
            max_rate_limit_wait=s.max_wait,
            secondary_rate_wait=s.secondary_wait,
            say=self.output.progress,
            retried=self._retried.append,
            # a 429 is a secondary rate limit, Retry-After or not (403 is PyGithub's own)
            status_forcelist=[*(range(500, 600) if policy.attempts > 1 else ()), 429],
            # PyGithub retries GET and POST; every write here may be sent twice (a
            # PATCH sends the same body or name again), so a passing 5xx on one is
            # retried too, not only on a create
            allowed_methods=GithubRetry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
        )
        route_library_log(self.output, self.api_url)
        self._client = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            timeout=self.timeout,
            retry=retry,
            seconds_between_requests=s.seconds_between_requests,
            seconds_between_writes=s.seconds_between_writes,
            # GitHub's most: a repository of years of releases is listed in few requests
            per_page=LIST_PAGE,
            user_agent="publisher (+https://github.com/twentyi/php-fpm-images)",
            # The CAs of REQUESTS_CA_BUNDLE, else those of SSL_CERT_FILE, as a registry's.
            verify=network.verify_setting(os.environ),
        )
        _refuse_other_addresses(self._client.requester)
        _take_proxies_by_the_rule(self._client.requester)
        self._repo: Any = None

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        repository: str | None = None,
        output: Output | None = None,
        settings: Settings | None = None,
    ) -> GitHubReleases:
        """Repository from the argument or ``GITHUB_REPOSITORY``; token from ``GITHUB_TOKEN``;
        without ``settings``, the retry policy from ``PUBLISHER_RETRY_*``."""
        hint = "pass --repo OWNER/NAME, or set GITHUB_REPOSITORY (Actions sets it)"
        if repository is not None and not repository.strip():
            raise UsageError("--repo is empty: name the repository as OWNER/NAME", hint=hint)
        from_env = env.get(ENV_REPOSITORY)
        repo = repository or from_env or ""
        if not repo.strip():
            state = "is not set" if from_env is None else "is empty"
            raise UsageError(
                f"which repository? --repo not given and {ENV_REPOSITORY} {state}", hint=hint
            )
        token = env.get(ENV_TOKEN)
        if token is None:
            raise UsageError(
                f"no GitHub token: {ENV_TOKEN} is not set", hint=_token_hint(ENV_TOKEN)
            )
        return cls(
            repo,
            token,
            api_url=env.get(ENV_API_URL) or DEFAULT_API_URL,
            output=output,
            settings=settings or Settings(retry=RetryPolicy.from_env(env)),
        )

    # ------------------------------------------------------------------ API

    def upsert(self, tag: str, *, body: str, name: str | None = None) -> ReleaseResult:
        """Create the release for ``tag`` with ``body``, or update the one that exists.

        The prerelease flag follows the tag; GitHub's "latest" marker only goes
        to the highest stable release. The title is ``name``, else the tag for a new
        release; an existing one keeps its title (perhaps edited by hand) unless
        ``name`` is given. An update that changes nothing sends no write request (a body
        differing only in its line ends, as GitHub's web editor saves it, is the same:
        ``same_body``).
        """
        release = parse_release(tag)
        # Refused here only when GitHub surely refuses it: over the limit in characters.
        # One over it only in UTF-8 bytes (gh-release cuts to fit those when it can) is
        # sent: GitHub may count characters, and then holds it.
        if len(body) > MAX_BODY:
            raise GitHubError(
                f"release notes for {tag} are {len(body):,} characters; GitHub allows {MAX_BODY:,}",
                hint="shorten the notes (the full notes stay in release-notes/ in the repository)",
            )
        title = name or tag
        # Each step's failure says what was being done: a repository that is not found is
        # met while the release is looked for, when nothing was written yet.
        with self._guard(
            f"looking for the GitHub release {tag} in {self.repository}",
            then="nothing on GitHub was created or changed",
        ):
            repo = self._repository()
            # The list is read once: it says whether a draft of the tag exists (when no
            # published release holds it) and whether a higher stable release keeps "latest".
            published = self._published(repo, tag)
            listed = self._list(repo)
            existing = published or self._draft(listed, tag)
            # A draft is no release yet: it never takes "latest" away from this one.
            others = [r.tag_name for r in listed if r.tag_name != tag and not r.draft]
            if existing is None:
                self._require_tag(repo, tag)
        latest = is_latest(release, others)
        make_latest = "true" if latest else "false"
        lost = False  # this run's create, GitHub's answer to it lost
        if existing is None:
            with self._guard(f"creating the GitHub release {tag} of {self.repository}"):
                retried = len(self._retried)
                try:
                    created = repo.create_git_release(
                        tag,
                        name=title,
                        message=body,
                        prerelease=not release.is_stable,
                        make_latest=make_latest,
                    )
                except GithubException as exc:
                    existing = self._find(repo, tag) if exc.status == 422 else None
                    if existing is None:
                        raise
                    # Created meanwhile (a concurrent run, or this POST, stored before an
                    # error answer and retried): update it, unless it is this run's as sent.
                    lost = "POST" in self._retried[retried:]
                else:
                    self._check_release(
                        created,
                        tag,
                        f"the creation of the release {tag}",
                        then=f"GitHub may hold the release {tag} all the same: a rerun looks "
                        "for it again and updates it",
                    )
                    self.output.info(f"created GitHub release {tag}: {created.html_url}")
                    return ReleaseResult("created", tag, created.html_url, created.id, latest)
        assert existing is not None
        if name is None:
            title = existing.name or ""
        draft = bool(existing.draft)
        if draft:
            self.output.warning(
                f"the GitHub release {tag} is a draft: its notes are kept up to date and it "
                "is left a draft, which nobody else sees (the stack's launcher cannot fetch "
                "its pins file); publish it on GitHub when it is ready"
            )
        if (
            same_body(existing.body, body)
            and existing.name == title
            and existing.prerelease == (not release.is_stable)
        ):
            if lost and not draft:
                self.output.info(
                    f"created GitHub release {tag} (GitHub stored it but its answer was lost: "
                    f"the retried request found it): {existing.html_url}"
                )
                return ReleaseResult("created", tag, existing.html_url, existing.id, latest)
            self.output.info(f"GitHub release {tag} is already up to date: {existing.html_url}")
            return ReleaseResult(
                "unchanged", tag, existing.html_url, existing.id, latest and not draft, draft
            )
        with self._guard(f"updating the GitHub release {tag} of {self.repository}"):
            updated = existing.update_release(
                name=title,
                message=body,
                draft=draft,
                prerelease=not release.is_stable,
                make_latest=make_latest,
            )
        self._check_release(
            updated,
            tag,
            f"the update of the release {tag}",
            then="GitHub may have made the update all the same: a rerun compares again",
        )
        self.output.info(f"updated GitHub release {tag}: {updated.html_url}")
        return ReleaseResult(
            "updated", tag, updated.html_url, updated.id, latest and not draft, draft
        )

    def attach(self, tag: str, path: Path) -> str:
        """Attach ``path`` to the release of ``tag`` (replacing an older asset of that name).

        The asset's label carries the file's sha256, so attaching the same bytes
        again sends no write (an asset of that name GitHub does not list as "uploaded", left
        by an upload cut off halfway, is deleted and uploaded again; an upload GitHub stored
        before answering 5xx is found by its retry and kept, see ``_upload``). A replacement is
        uploaded under a temporary name, then
        the old asset deleted and the new one renamed: a failed upload leaves the old
        asset in place. Returns "attached", "replaced" or "unchanged".
        """
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise file_error(exc, f"read {path.name} to attach it to the GitHub release") from None
        label = f"{path.name} (sha256:{hashlib.sha256(data).hexdigest()[:16]})"
        with self._guard(f"attaching {path.name} to the GitHub release {tag} of {self.repository}"):
            release = self._find(self._repository(), tag)
            if release is None:
                raise GitHubError(
                    f"there is no GitHub release {tag} to attach {path.name} to",
                    hint=f"run `publisher gh-release {tag}` first",
                )
            # A new file goes up under a temporary name first: an upload that fails leaves
            # the old asset in place (the stack's launcher downloads it); a rerun removes
            # what a failed run left under the temporary name.
            temporary = f"{path.name}{_UPLOADING}"
            assets = self._assets(release, tag)
            # An upload cut off on GitHub's side leaves an asset that is not "uploaded"
            # (state "new"): its name and label are set, its bytes not all there, and
            # nobody can download it. It goes, as a leftover does, and is uploaded again.
            broken = [a for a in assets if a.name == path.name and a.state != "uploaded"]
            for leftover in [a for a in assets if a.name == temporary] + broken:
                leftover.delete_asset()
            gone = {a.id for a in broken}
            old = next((a for a in assets if a.name == path.name and a.id not in gone), None)
            if old is not None and old.label == label:
                self.output.info(f"{path.name} is already attached to {tag}")
                return "unchanged"
            if old is None:
                self._upload(release, path, label, path.name)
                self.output.info(f"attached {path.name} on the GitHub release {tag}")
                return "attached"
            new = self._upload(release, path, label, temporary)
            old.delete_asset()
            new.update_asset(path.name, label=label)
            self.output.info(f"replaced {path.name} on the GitHub release {tag}")
            return "replaced"

    # ------------------------------------------------------------ internals

    def _upload(self, release: Any, path: Path, label: str, name: str) -> Any:
        """Upload ``path`` as the asset ``name`` of ``release``; the asset.

        GitHub may store an upload and still answer 5xx (a proxy or its front end gave up
        waiting): the retried POST then gets 422 ``already_exists``. The asset of that name
        is looked at: this very file (its label carries the hash) in state "uploaded" is
        taken as it is; anything else there (cut off halfway, in state "new", or another
        file) is deleted and the file uploaded once more.
        """

        def upload() -> Any:
            return release.upload_asset(
                str(path), label=label, content_type="text/plain", name=name
            )

        try:
            return upload()
        except GithubException as exc:
            if exc.status != 422 or not _already_exists(exc):
                raise
        there = next((a for a in self._assets(release, None) if a.name == name), None)
        if there is not None and there.label == label and there.state == "uploaded":
            self.output.progress(
                f"GitHub already holds {name} with this file's hash (an upload stored before "
                "an error answer): kept as it is"
            )
            return there
        if there is not None:
            self.output.progress(
                f"GitHub holds another or an unfinished {name} (state {there.state}): "
                "deleted and uploaded again"
            )
            there.delete_asset()
        return upload()

    def _repository(self) -> Any:
        if self._repo is None:
            self._repo = self._client.get_repo(self.repository)
        return self._repo

    def _require_tag(self, repo: Any, tag: str) -> None:
        """Refuse to create the release of a tag GitHub does not hold: GitHub would create
        the tag itself, at the head of the default branch, not at the commit the release
        was built from (and that commit's tag, pushed later, would be refused)."""
        try:
            _ = repo.get_git_ref(f"tags/{tag}").object  # the lookup is lazy: asked here
        except github.UnknownObjectException:
            raise GitHubError(
                f"the tag {tag} is not in {self.repository} on GitHub: creating its release "
                f"would make GitHub create the tag at the head of the default branch, not at "
                f"the commit {tag} was built from; no release was created",
                hint=f"push the tag first (`git push origin {tag}`), then rerun",
            ) from None

    def _find(self, repo: Any, tag: str) -> Any:
        """The release of ``tag``: the published one, else a draft of it (the newest).

        GitHub's lookup by tag never returns a draft (its tag need not exist yet), so a
        draft is looked for in the list: else a draft made by hand, or left by an earlier
        run, would get a second release of the same tag beside it.
        """
        found = self._published(repo, tag)
        return found if found is not None else self._draft(self._list(repo), tag)

    def _published(self, repo: Any, tag: str) -> Any:
        """The published release of ``tag`` (``GET …/releases/tags/{tag}``), else None."""
        try:
            found = repo.get_release(tag)
        except github.UnknownObjectException:
            return None
        return self._check_release(found, tag, f"the lookup of the release {tag}")

    @staticmethod
    def _draft(listed: Iterable[Any], tag: str) -> Any:
        """The draft of ``tag`` in the list of releases (the newest comes first), else None."""
        return next((r for r in listed if r.draft and r.tag_name == tag), None)

    def _list(self, repo: Any) -> list[Any]:
        """Every release of ``repo``, each checked to be one (``_check_release``)."""
        what = "the list of releases"
        listed = self._read_list(repo.get_releases(), what, "a list of releases")
        return [self._check_release(release, None, what) for release in listed]

    def _assets(self, release: Any, tag: str | None) -> list[Any]:
        """The assets of ``release``, each checked to be one."""
        what = f"the list of assets of the release {tag}" if tag else "the list of assets"
        then = "no asset of the release was changed"
        listed = self._read_list(release.get_assets(), what, "a list of assets", then)
        for asset in listed:
            problem = _shape_problem(getattr(asset, "_rawData", None), _ASSET_FIELDS)
            if problem:
                raise self._not_a_release(what, problem, thing="a list of assets", then=then)
        return listed

    def _read_list(self, paginated: Any, what: str, thing: str, then: str = "") -> list[Any]:
        """Every item of ``paginated``, a PyGithub list, read from GitHub."""
        try:
            return list(paginated)
        except (TypeError, AttributeError, KeyError, ValueError, github.BadAttributeException):
            # PyGithub reads any JSON as a page of the list, and trips on one that is not
            # a list of objects (its own code, nothing of publisher's, runs in here)
            raise self._not_a_release(
                what, "it reads as no list of objects", thing=thing, then=then
            ) from None

    def _check_release(self, release: Any, tag: str | None, what: str, *, then: str = "") -> Any:
        """``release`` when GitHub's answer it was read from is a release (of ``tag``, when
        given): else a GitHubError, before anything of it is used or said."""
        # What GitHub answered, as PyGithub read it (a body that is no JSON is kept under
        # "data"): read from the object itself, which asks GitHub for nothing more.
        data = getattr(release, "_rawData", None)
        problem = _release_problem(data, tag)
        if problem:
            raise self._not_a_release(what, problem, then=then)
        return release

    def _not_a_release(
        self, what: str, problem: str, *, then: str = "", thing: str = ""
    ) -> GitHubError:
        thing = thing or ("a list of releases" if what.startswith("the list") else "a release")
        error = GitHubError(
            f"GitHub answered {what} in {self.repository} with something that is not "
            f"{thing} ({self.output.redact(problem)})"
            + (f"; {then}" if then else "; nothing on GitHub was created or changed"),
            hint=f"something between here and {self.api_url} (a proxy, a captive portal) may "
            f"answer in GitHub's place; check {ENV_API_URL} and the network, see "
            "https://www.githubstatus.com/, then rerun the step",
        )
        return error

    @contextlib.contextmanager
    def _guard(self, doing: str, *, then: str = "") -> Iterator[None]:
        """PyGithub and transport exceptions out, GitHubError in: "``doing`` failed: why",
        and ``then`` (what that leaves) after it."""
        try:
            yield
        except (
            GithubException,
            requests_exceptions.RequestException,
            OSError,
            _OtherAddress,
        ) as exc:
            error = self._error(doing, exc)
            if then:
                error.message += f"; {then}"
            raise error from exc
        except github.BadAttributeException as exc:
            # a field of an answer not checked above, of another type than GitHub gives it
            raise GitHubError(
                f"{doing} failed: GitHub answered with something that is not what was asked "
                f"for (a field of it is {_short(exc.actual_value)})"
                + (f"; {then}" if then else ""),
                hint="rerun the step; if it fails the same way, rerun with --debug and report "
                "GitHub's answer it prints",
            ) from exc
        except Exception as exc:
            # The GitHub client's own failure on an answer it cannot use (an assert, a
            # redirect it refuses, a header it cannot read); publisher's own bugs go on
            if not _raised_by_client(exc):
                raise
            error = self._client_failure(doing, exc)
            if then:
                error.message += f"; {then}"
            raise error from exc

    def _client_failure(self, doing: str, exc: Exception) -> GitHubError:
        """An exception the GitHub client raised itself on GitHub's answer, in words."""
        said = " ".join(self.output.redact(str(exc)).split())
        if isinstance(exc, RuntimeError) and " redirected " in said:
            # PyGithub's words for it end in advice on its own API (base_url): cut
            said = re.split(r", (?:please correct|you may need)", said)[0]
            return GitHubError(
                f"{doing} failed: the GitHub API at {self.api_url} redirected the request to "
                f"another address ({clip(said, 200)})",
                hint=f"set {ENV_API_URL} to the address the server redirects to, its own "
                "(for GitHub Enterprise Server, https://HOST/api/v3 with the hostname it is "
                "configured with), or have the proxy in front of it stop redirecting",
            )
        return GitHubError(
            f"{doing} failed: the GitHub client could not read GitHub's answer"
            + (f" ({clip(said, 200)})" if said else ""),
            hint=f"something between here and {self.api_url} (a proxy) may change or answer "
            "in GitHub's place; rerun with --debug to see the answer, and report it if it is "
            "GitHub's own",
        )

    def _other_address(self, doing: str, url: str) -> GitHubError:
        """GitHub answered with ``url``, an address the token is not sent to."""
        api = urllib.parse.urlsplit(self.api_url)
        api_origin = f"{api.scheme}://{api.netloc}"
        parts = urllib.parse.urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        shown = self.output.redact(f"{origin}{parts.path}")  # the query left out
        shown = shown if len(shown) <= 100 else shown[:97] + "..."
        if not parts.hostname:
            where = f"an address naming no server ({shown})"
        elif origin == api_origin:
            where = f"an address outside its base URL ({shown})"
        else:
            where = f"addresses on {origin} ({shown})"
        if not parts.hostname or origin == api_origin:
            hint = (
                f"check {ENV_API_URL}: it must be the API's base URL as the server names it "
                f"({DEFAULT_API_URL}, or https://HOST/api/v3 for GitHub Enterprise Server), "
                "and a proxy in front of it must leave the addresses in its answers under it"
            )
        elif api.scheme == "https" and parts.scheme != "https":
            hint = (
                f"the server names itself by a plain {parts.scheme}:// address, where the token "
                "would go unencrypted: configure it (or the proxy ending TLS in front of it) "
                "to name its https:// address"
            )
        else:
            hint = (
                f"set {ENV_API_URL} to the address the server names itself by "
                f"({origin}{api.path}), or have the proxy in front of it rewrite the "
                f"addresses in its answers to {api_origin}"
            )
        return GitHubError(
            f"{doing} failed: the GitHub API at {self.api_url} answered with {where}, where "
            "the GitHub client sends no token",
            hint=hint,
        )

    def _proxy_failed(self, doing: str, exc: BaseException) -> GitHubError | None:
        """The proxy between here and the API failed the request (it cannot be reached,
        refused the connection, wants other credentials), said as that; else None."""
        wants = isinstance(exc, GithubException) and exc.status == 407
        if not wants and not isinstance(exc, requests_exceptions.ProxyError):
            return None
        proxy = network.proxy_of(self.api_url)
        if proxy is None:  # none was chosen for it: not the proxy's doing
            return None
        api = urllib.parse.urlsplit(self.api_url)
        target = f"{api.hostname}:{api.port or (443 if api.scheme == 'https' else 80)}"
        failure = (
            network.proxy_wants(proxy)
            if wants
            else network.proxy_failure(exc, proxy, target, self.timeout)
        )
        ended = _RetriesEnded.of(exc)
        tries = (
            ", " + network.tries(ended.attempts, ended.elapsed, ended.next_wait, self.total_timeout)
            if ended is not None and failure.transient
            else ""
        )
        return GitHubError(
            f"{doing} failed: cannot reach the GitHub API at {self.api_url}: {failure.message}"
            f"{tries}",
            hint=failure.hint,
        )

    def _error(self, doing: str, exc: BaseException) -> GitHubError:
        """Translate a PyGithub or transport exception into an actionable GitHubError."""
        proxied = self._proxy_failed(doing, exc)
        if proxied is not None:
            return proxied
        redact = self.output.redact
        env, repo = self.token_env, self.repository
        limit = (
            _rate_limit(exc.status, _headers(exc.headers), exc.data, 0)
            if isinstance(exc, GithubException) and exc.status in (403, 429)
            else None
        )
        if isinstance(exc, GithubException) and (
            isinstance(exc, github.RateLimitExceededException) or limit is not None
        ):
            detail = _message(exc, redact)
            kind = f"{limit[0]} " if limit else ""
            wait = _rate_limit_wait(exc.headers) or (
                "; GitHub names no time to wait (its docs ask for a minute at least)"
                if kind == "secondary "
                else ""
            )
            waited = exc.waited if isinstance(exc, _StillRateLimited) else 0
            return GitHubError(
                f"{doing} failed: GitHub API {kind}rate limit exceeded ({exc.status}"
                f"{': ' + redact(detail) if detail else ''})"
                + (f", still after waiting {_seconds(waited)} s" if waited else "")
                + wait,
                hint=f"wait for the limit to reset, then rerun the step; everything using the "
                f"token in {env} shares its limit",
            )
        if isinstance(exc, github.BadCredentialsException) or (
            isinstance(exc, GithubException) and exc.status == 401
        ):
            return GitHubError(
                f"{doing} failed: GitHub rejected the token in {env} (401 Bad credentials)",
                hint=f"{env} is missing, expired or revoked; in a workflow pass "
                f"`{env}: ${{{{ secrets.GITHUB_TOKEN }}}}`, otherwise create a new token",
            )
        if isinstance(exc, GithubException) and exc.status == 403:
            detail = _message(exc, redact)
            return GitHubError(
                f"{doing} failed: GitHub refused the request (403{': ' + redact(detail) if detail else ''})",
                hint=_PERMISSION_HINT.format(env=env, repo=repo),
            )
        if isinstance(exc, github.UnknownObjectException) or (
            isinstance(exc, GithubException) and exc.status == 404
        ):
            return GitHubError(
                f"{doing} failed: repository {repo} not found, or the token in {env} cannot see it (404)",
                hint=f"check the OWNER/NAME; for a private repository the token needs read access to {repo}",
            )
        if isinstance(exc, GithubException):
            detail = _message(exc, redact)
            return GitHubError(
                f"{doing} failed: GitHub answered {exc.status}{': ' + redact(detail) if detail else ''}",
                hint="see https://www.githubstatus.com/ for outages; rerun the step to retry"
                if not 400 <= exc.status < 500
                else "GitHub refused the request itself, for the reason above: a rerun sends it "
                "again unchanged",
            )
        if isinstance(exc, _OtherAddress):
            return self._other_address(doing, exc.url)
        retried = _retried_status(exc)
        if retried is not None:
            return GitHubError(
                f"{doing} failed: GitHub answered {retried} to every attempt",
                hint="see https://www.githubstatus.com/ for outages; rerun the step to retry",
            )
        ended = _RetriesEnded.of(exc)
        tries = (
            ", " + network.tries(ended.attempts, ended.elapsed, ended.next_wait, self.total_timeout)
            if ended is not None
            else ""
        )
        if network.answer_late(exc):  # reached: the network, DNS and port are not the cause
            return GitHubError(
                f"{doing} failed: the GitHub API at {self.api_url} took the connection but sent "
                f"no answer within {self.timeout:g} s{tries}",
                hint=network.no_answer_hint(urllib.parse.urlsplit(self.api_url).netloc),
            )
        if isinstance(exc, requests_exceptions.SSLError):
            host = urllib.parse.urlsplit(self.api_url).netloc
            tls = network.tls_failure(exc, host, server="the GitHub API", named_in=ENV_API_URL)
            hint = (
                f"{host} answers in plain HTTP: check the port and scheme of {ENV_API_URL}"
                if tls.plain_http
                else tls.hint
            )
            return GitHubError(
                f"{doing} failed: cannot reach the GitHub API at {self.api_url} "
                f"(TLS failed: {redact(tls.reason)}){tries}",
                hint=redact(hint),
            )
        if isinstance(exc, requests_exceptions.RequestException | OSError):
            return GitHubError(
                f"{doing} failed: cannot reach the GitHub API at {self.api_url} "
                f"({_network_reason(exc, redact, self.timeout)}){tries}",
                hint=f"check the network, or {ENV_API_URL} for GitHub Enterprise Server",
            )
        return GitHubError(
            f"{doing} failed: {redact(str(exc)) or 'the GitHub client gave no reason'}",
            hint="rerun the step; if it fails the same way, rerun with --debug and report the "
            "traceback it prints",
        )


def _network_reason(exc: BaseException, redact: Callable[[str], str], timeout: float) -> str:
    """What went wrong on the way to the API, in words (never a Python class name)."""
    timed_out = network.timeout_cause(exc, timeout)
    if timed_out is not None:
        reason = timed_out
    elif isinstance(exc, requests_exceptions.ConnectionError):
        reason = "the connection failed"
    else:
        reason = "a network error"
    # The system's own words, from under the layers of reprs requests wraps them in.
    said = network.SYSTEM_ERROR.findall(redact(str(exc)))
    return f"{reason}: {said[-1].strip()}" if said else reason


class _OtherAddress(Exception):
    """An address in GitHub's answer (``url``) the GitHub client sends no token to."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


#: The GitHub client's check of each address in GitHub's answers before it requests it.
_URL_CHECK = "_Requester__assertUrlAllowed"


def _refuse_other_addresses(requester: Requester) -> None:
    """Make ``requester`` refuse an address in GitHub's answers (a release's ``url`` or
    ``upload_url``, a list's next page) as ``_OtherAddress`` naming it, where PyGithub only
    asserts: another host than the API's own (its uploads host allowed, as PyGithub allows
    it: uploads.github.com beside api.github.com), another port; and, from an https:// API,
    a plain http:// one, which PyGithub would send the token to unencrypted."""
    allowed = getattr(requester, _URL_CHECK, None)
    if allowed is None:  # another PyGithub: its own failure is still a GitHubError
        return
    secure = urllib.parse.urlsplit(requester.base_url).scheme == "https"

    def check(url: str) -> None:
        if secure and urllib.parse.urlsplit(url).scheme != "https":
            raise _OtherAddress(url)
        try:
            allowed(url)
        except (AssertionError, ValueError):  # ValueError: a port that is no number
            raise _OtherAddress(url) from None

    setattr(requester, _URL_CHECK, check)


def _take_proxies_by_the_rule(requester: Requester) -> None:
    """Make ``requester``'s connections take each request's proxy as every other request
    of publisher's does (``network.Session``: resolve's rule), not as requests would
    (ALL_PROXY read, a loopback API sent to the proxy)."""
    for name in _CONNECTION_CLASSES:
        connection = getattr(requester, name, None)
        if isinstance(connection, type):  # another PyGithub: requests' own choice stays
            setattr(requester, name, _ruled(connection))


#: The connection classes a PyGithub ``Requester`` makes its connections of: the API's,
#: and those for an address its answers name (an upload's), plain HTTP and HTTPS.
_CONNECTION_CLASSES = (
    "_Requester__connectionClass",
    "_Requester__httpConnectionClass",
    "_Requester__httpsConnectionClass",
)


@functools.cache
def _ruled(connection: type[Any]) -> type[Any]:
    """``connection`` (a PyGithub connection class) with a ``network.Session`` of its own
    in place of the plain session it makes, mounted with the same adapter."""

    class Ruled(connection):
        session: requests.Session

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            session = network.Session()
            session.auth = self.session.auth
            session.mount(f"{self.protocol}://", self.adapter)
            self.session.close()
            self.session = session

    return Ruled


#: Where the GitHub client's code lives (PyGithub, and the HTTP stack under it), and
#: publisher's own.
_CLIENT_CODE = tuple(
    os.path.dirname(str(module.__file__)) + os.sep for module in (github, requests, urllib3)
)
_OWN_CODE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _raised_by_client(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the GitHub client's own code, not publisher's: the
    innermost of the two in its traceback (the standard library's code is neither)."""
    for frame, _line in reversed(list(traceback.walk_tb(exc.__traceback__))):
        name = frame.f_code.co_filename
        if name.startswith(_OWN_CODE):
            return False
        if name.startswith(_CLIENT_CODE):
            return True
    return False


class _StillRateLimited(github.RateLimitExceededException):
    """A rate limit publisher stops waiting for, after ``waited`` seconds of waiting."""

    def __init__(self, status: int, data: Any, headers: dict[str, str], waited: float) -> None:
        super().__init__(status, data, headers)
        self.waited = waited


class _RetriesEnded(MaxRetryError):
    """urllib3's end of a request's retries, with how many attempts were made, in how long,
    and, when the retry policy's total time ended them, the wait that would have passed it."""

    def __init__(
        self,
        pool: Any,
        url: str | None,
        reason: Exception | None,
        *,
        attempts: int,
        elapsed: float,
        next_wait: float | None = None,
    ) -> None:
        super().__init__(pool, url or "", reason)
        self.attempts = attempts
        self.elapsed = elapsed
        self.next_wait = next_wait

    @staticmethod
    def of(exc: BaseException) -> _RetriesEnded | None:
        """The one requests wraps ``exc`` around, if any."""
        wrapped = exc.args[0] if exc.args else None
        return wrapped if isinstance(wrapped, _RetriesEnded) else None


#: The most waits for a rate limit one request makes (each a Retry-After of 0, say).
_MAX_RATE_LIMIT_WAITS = 10


class _BoundedRetry(GithubRetry):
    """PyGithub's retry, its waits for a rate limit publisher's own: bounded, and said.

    A rate limit (a 403 or 429 saying so, or with a Retry-After) is waited for as GitHub
    asks: its Retry-After, else until a spent primary limit resets, else, for a secondary
    limit naming no time, ``secondary_rate_wait`` (a minute: GitHub's docs ask for at least
    that). Each wait is said through ``say`` (the cause, how long, until when) before it is
    slept; the waits of one request together never pass ``max_rate_limit_wait``: one that
    would fails at once, as does a limit still there after ``_MAX_RATE_LIMIT_WAITS`` waits,
    with GitHub's answer (the error then says the limit and the wait). These waits are no
    attempts of ``policy``: with one attempt a rate limit is still waited for. urllib3 would otherwise
    sleep a 503's Retry-After of an hour too: that is bounded the same way.

    Any other retry (no answer, a failed connection, a 5xx) waits as ``policy`` says (the
    run's retry policy, as a registry request's), and is not made when its wait would
    take the request to the policy's total time or past it, counted from its first
    attempt's start: ``request_timeout`` before a first attempt that timed out, as it is
    not seen when an attempt starts.
    """

    def __init__(
        self,
        *,
        say: Callable[[str], None] | None = None,
        retried: Callable[[str], None] | None = None,
        waited: float = 0.0,
        rate_limits: int = 0,
        policy: RetryPolicy | None = None,
        request_timeout: float = 0.0,
        started: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.say = say or (lambda _message: None)
        self.retried = retried or (lambda _method: None)  # told each retry after a failure
        self.waited = waited  # on rate limits, by this request's earlier attempts
        self.rate_limits = rate_limits  # how many times this request waited for one
        self.policy = policy
        self.request_timeout = request_timeout
        self.started = started  # this request's first attempt, on the monotonic clock
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> Any:
        kw.update(
            say=self.say,
            retried=self.retried,
            waited=self.waited,
            rate_limits=self.rate_limits,
            policy=self.policy,
            request_timeout=self.request_timeout,
            started=self.started,
        )
        return super().new(**kw)

    def get_backoff_time(self) -> float:
        """The wait before the next attempt: the retry policy's, after as many failures as
        this request had (urllib3's own without a policy)."""
        if self.policy is None:
            return float(super().get_backoff_time())
        return self.policy.backoff(len(self.history)) if self.history else 0.0

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Any:
        if error is not None and network.tunnel_refused(error) == 407:
            # the proxy wants other credentials: each attempt would send the same ones
            raise MaxRetryError(_pool, url or "", error) from error
        if response is not None and response.status in (403, 429):
            data = _json_of(response, url)  # read once: the body is gone after
            limit = _rate_limit(response.status, response.headers, data, self.secondary_rate_wait)
            if limit is None:  # a refusal, not a limit: GitHub's answer, at once
                raise Requester.createException(response.status, dict(response.headers), data)
            kind, wait, why = limit

            def still_limited() -> _StillRateLimited:
                return _StillRateLimited(
                    response.status, data, dict(response.headers), waited=self.waited
                )

            if (
                self.max_rate_limit_wait is not None
                and self.waited + wait > self.max_rate_limit_wait
            ):
                raise still_limited()
            if self.rate_limits >= _MAX_RATE_LIMIT_WAITS:
                raise still_limited()
            # not one of the policy's attempts: those are for failures alone
            retry = self.new()
            retry.rate_limits = self.rate_limits + 1
            retry.waited = self.waited + wait
            if not response.headers.get("Retry-After"):  # urllib3 sleeps that one itself
                retry.get_backoff_time = lambda: wait
            until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=wait)
            self.say(
                f"GitHub API: {kind} rate limit ({response.status} to {method} {url}); "
                f"waiting {_seconds(wait)} s, until {until:%H:%M:%S} UTC, {why}"
            )
            return retry
        said = response.headers.get("Retry-After") if response is not None else None
        asked = None
        if said is not None and response.status >= 400:
            try:
                asked = self.parse_retry_after(said)
            except InvalidHeader:  # urllib3 ignores a Retry-After it cannot read
                asked = None
            if asked is not None and not self.is_retry(method or "GET", response.status, True):
                asked = None
            if (
                asked is not None
                and self.max_rate_limit_wait is not None
                and self.waited + asked > self.max_rate_limit_wait
            ):
                raise Requester.createException(
                    response.status, dict(response.headers), _json_of(response, url)
                )
        now = time.monotonic()
        started = self.started
        if started is None:
            timed_out = error is not None and network.timed_out(error) is not None
            started = now - (self.request_timeout if timed_out else 0.0)
        try:
            # a copy of this class (``new``), urllib3 types it as its base
            again: Any = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError as ended:
            raise _RetriesEnded(
                _pool, url, ended.reason, attempts=len(self.history) + 1, elapsed=now - started
            ) from ended.reason
        again.started = started
        if asked is not None:
            again.waited = self.waited + asked
        if response is not None:
            what = f"answered {response.status}"
        elif error is not None and self._is_connection_error(error):
            what = "could not connect"  # refused, or not made in time
        elif error is not None:
            what = "got no answer"
        else:
            return again
        # what urllib3 sleeps next: the Retry-After asked, else its backoff
        wait = asked if asked is not None else again.get_backoff_time()
        if asked is None:  # the wait said and checked is the one slept (it has jitter)
            again.get_backoff_time = lambda: wait
        total = self.policy.total_timeout if self.policy is not None else None
        if total is not None and now - started + wait >= total:
            reason = error or ResponseError(
                ResponseError.SPECIFIC_ERROR.format(status_code=response.status)
            )
            raise _RetriesEnded(
                _pool,
                url,
                reason,
                attempts=len(again.history),
                elapsed=now - started,
                next_wait=wait,
            ) from reason
        when = "now" if wait <= 0 else f"in {_seconds(wait)} s"
        why = ", as its Retry-After asks" if asked is not None else ""
        attempt = len(again.history) + 1
        attempts = (
            f" (attempt {attempt} of {attempt + again.total})"
            if isinstance(again.total, int)
            else ""
        )
        self.say(f"GitHub API: {method} {url} {what}; trying again {when}{why}{attempts}")
        self.retried(method or "GET")
        return again


def _seconds(wait: float) -> str:
    """A wait in seconds, for reading: 60, 30.7, 0.3."""
    return f"{round(wait, 1):g}"


def _rate_limit(
    status: int, headers: Mapping[str, str], data: Any, secondary_wait: float
) -> tuple[str, float, str] | None:
    """Whether an answer ``status`` is a rate limit: its kind ("primary" or "secondary"),
    how long to wait and why that long; None for an answer that is no rate limit."""
    message = data.get("message") if isinstance(data, dict) else None
    message = message if isinstance(message, str) else ""
    said = headers.get("Retry-After")
    if not (status == 429 or said is not None or Requester.isRateLimitError(message)):
        return None
    primary = headers.get("X-RateLimit-Remaining") == "0" or Requester.isPrimaryRateLimitError(
        message
    )
    kind = "primary" if primary else "secondary"
    if said is not None:
        try:
            return kind, Retry.parse_retry_after(Retry(), said), "as its Retry-After asks"
        except InvalidHeader:
            pass
    reset = headers.get("X-RateLimit-Reset") or ""
    if primary and reset.isdigit():
        # one second more: it is not said when in its second the limit resets
        return kind, max(0.0, int(reset) - time.time()) + 1, "when the limit resets"
    return kind, secondary_wait, "as GitHub names no time to wait"


def _json_of(response: Any, url: str | None) -> Any:
    """The JSON body of a urllib3 response (GitHub's message), or None."""
    try:
        return json.loads(GithubRetry.get_content(response, url or ""))
    except (ValueError, TypeError):
        return None


#: PyGithub's logger: its retry lines ("Request GET ... failed with 403", "Setting next
#: backoff to 29.7s") would otherwise reach stderr raw, through the handler PyGithub's own
#: import gives it. (urllib3's is shared with the registry client, so it is left alone.)
LIBRARY_LOGGER = "github"


#: PyGithub's line for each request it made: verb, scheme, host (without its port), path,
#: headers (its token masked), body, status, answer's headers, answer.
_REQUEST_LINE = "%s %s://%s%s %s %s ==> %i %s %s"


class _ToOutput(logging.Handler):
    """A library's log lines as publisher's debug lines (redacted, one style); a request's
    URL as it was requested, with the port of ``api_url`` that PyGithub's line leaves out."""

    def __init__(self, output: Output, api_url: str | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.output = output
        self.host: tuple[str, str, str] | None = None  # scheme, host as logged, as requested
        parts = urllib.parse.urlsplit(api_url or "")
        if parts.hostname and parts.port is not None:  # never its credentials: only these
            shown = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            self.host = (parts.scheme, parts.hostname, f"{shown}:{parts.port}")

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if (
            self.host is not None
            and record.msg == _REQUEST_LINE
            and isinstance(args, tuple)
            and len(args) == 9
            and tuple(args[1:3]) == self.host[:2]
        ):
            said = _REQUEST_LINE % (args[0], args[1], self.host[2], *args[3:])
        else:
            said = record.getMessage()
        # Not caught: output closed by its reader (`| head`) ends the run as it should.
        self.output.debug(f"GitHub API: {' '.join(said.split())}")


def route_library_log(output: Output, api_url: str | None = None) -> None:
    """Send the GitHub client's log lines to ``output``'s debug lines (``--debug``), and
    nowhere else: a wait for a rate limit is said by publisher itself (``_BoundedRetry``),
    with its cause and when it ends. A request's URL is said with the port of ``api_url``."""
    logger = logging.getLogger(LIBRARY_LOGGER)
    # Every handler goes, ours of an earlier client and the raw stderr one PyGithub adds
    # to this logger when it is imported.
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(_ToOutput(output, api_url))
    logger.propagate = False
    logger.setLevel(logging.DEBUG if output.debug_enabled else logging.WARNING)


#: How urllib3 says its retries ended on an HTTP status (GithubRetry retries 5xx answers).
_RETRIED_STATUS = re.compile(r"too many ([0-9]{3}) error responses")


def _retried_status(exc: BaseException) -> int | None:
    """The status GitHub kept answering when retries of it ran out, else None.

    A request retried on a 5xx answer until no retry is left ends as requests'
    ``RetryError``, not as a ``GithubException``: GitHub answered, it was not unreachable.
    """
    if not isinstance(exc, requests_exceptions.RetryError):
        return None
    found = _RETRIED_STATUS.search(str(exc))
    return int(found[1]) if found else None


def _headers(headers: Mapping[str, Any] | None) -> Mapping[str, str]:
    """An exception's headers, looked up in any case, as urllib3's are."""
    return HTTPHeaderDict({str(k): str(v) for k, v in (headers or {}).items()})


def _rate_limit_wait(headers: Mapping[str, str] | None, now: float | None = None) -> str:
    """When a rate-limited request may be sent again, as GitHub's headers say, or ""."""
    found = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    retry_after = found.get("retry-after", "")
    wait = small_number(retry_after, 10**9)
    if wait is not None:
        return f"; GitHub asks to wait {wait} s"
    reset = found.get("x-ratelimit-reset", "")
    if found.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        try:
            at = datetime.datetime.fromtimestamp(int(reset), datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return ""  # no time there is
        minutes = max(0, math.ceil((int(reset) - (time.time() if now is None else now)) / 60))
        return f"; the limit resets at {at:%H:%M} UTC, in {minutes} min"
    return ""


#: The fields of a release publisher reads, and the JSON types GitHub gives them.
_RELEASE_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (int,),
    "tag_name": (str,),
    "url": (str,),
    "html_url": (str,),
    "upload_url": (str,),
    "draft": (bool,),
    "prerelease": (bool,),
    "name": (str, type(None)),
    "body": (str, type(None)),
}
#: ... and of an asset.
_ASSET_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (int,),
    "url": (str,),
    "name": (str,),
    "label": (str, type(None)),
    "state": (str,),
}


def _release_problem(data: Any, tag: str | None) -> str:
    """What makes ``data``, an answer PyGithub read, no release (of ``tag``), or ""."""
    problem = _shape_problem(data, _RELEASE_FIELDS)
    if not problem and tag is not None and data["tag_name"] != tag:
        problem = f"its tag_name is {_short(data['tag_name'])}, not {tag}"
    return problem


def _shape_problem(data: Any, fields: Mapping[str, tuple[type, ...]]) -> str:
    """What makes ``data``, an answer PyGithub read, no object of ``fields``, or ""."""
    if not isinstance(data, dict):
        return f"a JSON {_JSON_KINDS.get(type(data), 'value')}, not an object"
    if set(data) == {"data"} and isinstance(data["data"], str):  # PyGithub's "not JSON"
        text = " ".join(data["data"].split())
        return f"not JSON: {clip(text, 60)!r}" if text else "an empty body"
    for key, allowed in fields.items():
        if key not in data:
            return f"it has no {key}"
        value = data[key]
        if not isinstance(value, allowed) or (key == "id" and isinstance(value, bool)):
            return f"its {key} is {_short(value)}"
    if data["id"] <= 0:
        return f"its id is {data['id']}"
    if not data["url"].startswith(("https://", "http://")):
        return f"its url is {_short(data['url'])}"
    return ""


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
_JSON_KINDS[type(None)] = "null"


def _short(value: Any) -> str:
    """``value`` as JSON, cut to a readable length."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _already_exists(exc: GithubException) -> bool:
    """Whether GitHub's 422 says the name is taken (``already_exists``)."""
    errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
    return any(
        isinstance(entry, dict) and entry.get("code") == "already_exists"
        for entry in (errors if isinstance(errors, list) else [])
    )


def _message(exc: GithubException, redact: Callable[[str], str]) -> str:
    """GitHub's message, with the reasons of a validation failure (``errors``), on one line,
    ``redact`` applied before it is cut short (a token cut in two is no longer recognized)."""
    data = exc.data
    if not isinstance(data, dict):
        return ""
    message = data.get("message")
    parts = [message] if isinstance(message, str) and message else []
    errors = data.get("errors")
    for entry in errors[:5] if isinstance(errors, list) else []:
        if isinstance(entry, str):
            parts.append(entry)
        elif isinstance(entry, dict):
            said = entry.get("message")
            named = " ".join(str(entry[k]) for k in ("resource", "field", "code") if entry.get(k))
            parts.append(said if isinstance(said, str) and said else named)
    return clip(redact(" ".join("; ".join(p for p in parts if p).split())), 300)
