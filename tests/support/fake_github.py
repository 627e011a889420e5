"""A local HTTP server speaking the GitHub REST endpoints PyGithub uses for releases.

GitHub is the one part of the system that cannot run here, so this stands in for
it, on 127.0.0.1, for ``publisher.adapters.github`` and ``publisher gh-release``:

* ``GET  /repos/{owner}/{repo}``                    the repository
* ``GET  /repos/{owner}/{repo}/releases``           list (paginated: ``per_page``, 30 unless
  told, 100 at most, and ``page``)
* ``GET  /repos/{owner}/{repo}/releases/tags/{tag}`` one published release by tag, or 404
  (as on GitHub, a draft is never found by its tag: only in the list)
* ``GET  /repos/{owner}/{repo}/releases/{id}``       one release by id
* ``POST /repos/{owner}/{repo}/releases``            create (422 ``already_exists`` on a tag a
  published release holds; a draft holds none, so a second release of its tag is created);
  a published release of a tag the repository lacks creates that tag at its
  ``target_commitish``, the default branch unless told, as GitHub does
* ``GET  /repos/{owner}/{repo}/git/ref/tags/{tag}``  the tag, or 404 (every tag is there
  unless ``push_tags`` says which are: the workflows run on a pushed tag)
* ``PATCH /repos/{owner}/{repo}/releases/{id}``      update
  (both answer 422 ``body is too long (maximum is 125000 characters)`` as GitHub does, the
  body counted in characters, or in UTF-8 bytes with ``body_limit_unit = "bytes"``: GitHub
  counts some of its text limits in bytes while saying "characters")
* ``GET  /repos/{owner}/{repo}/releases/{id}/assets``  the release's assets
* ``POST /repos/{owner}/{repo}/releases/{id}/assets?name=N&label=L``  upload (the upload_url)
* ``DELETE /repos/{owner}/{repo}/releases/assets/{id}`` delete an asset
* ``PATCH /repos/{owner}/{repo}/releases/assets/{id}``  rename or relabel an asset (422
  ``already_exists`` on a name another asset of its release holds)

Requests need ``Authorization: token T`` (or ``Bearer T``) with the server's
token, else 401 ``Bad credentials`` as GitHub answers. ``script(...)`` queues
canned answers (e.g. a 403 ``Resource not accessible by integration``) for the
next matching requests; ``ECHO_AUTHORIZATION`` in a canned body is replaced by
the request's Authorization header, as a careless server echoes it back. With
``stored=True`` the request is carried out first and only its answer is replaced: GitHub
stored the upload or the change, then a proxy or its front end answered 5xx (an uploaded
asset is then listed with ``stored_state``, "uploaded" unless told; "new" is an upload cut
off halfway). ``requests`` records every request for assertions.

Usage::

    with FakeGitHub(token="t0ken") as gh:
        gh.add_repo("acme/php-fpm")
        env = {"GITHUB_API_URL": gh.url, "GITHUB_TOKEN": "t0ken", "GITHUB_REPOSITORY": "acme/php-fpm"}
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.httpserver import LoopbackServer

FORBIDDEN = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release",
    "status": "403",
}
BAD_CREDENTIALS = {
    "message": "Bad credentials",
    "documentation_url": "https://docs.github.com/rest",
    "status": "401",
}
#: GitHub's limit on a release body, as its 422 answer words it.
MAX_BODY = 125_000
BODY_TOO_LONG = {
    "message": "Validation Failed",
    "errors": [
        {
            "resource": "Release",
            "code": "custom",
            "field": "body",
            "message": f"body is too long (maximum is {MAX_BODY} characters)",
        }
    ],
    "documentation_url": "https://docs.github.com/rest/releases/releases#create-a-release",
    "status": "422",
}
NOT_FOUND = {
    "message": "Not Found",
    "documentation_url": "https://docs.github.com/rest",
    "status": "404",
}

#: In a ``script``ed body: replaced by the request's ``Authorization`` header.
ECHO_AUTHORIZATION = "<echo-authorization>"


def _echo(body: Any, authorization: str | None) -> Any:
    if body is None:
        return None
    text = json.dumps(body).replace(ECHO_AUTHORIZATION, json.dumps(authorization or "")[1:-1])
    return json.loads(text)


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str | None
    query: str = ""


@dataclass
class Scripted:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    #: carry the request out, then answer with this instead of GitHub's own answer
    stored: bool = False
    #: the state an asset uploaded by a ``stored`` request is left in
    stored_state: str = "uploaded"


class FakeGitHub(LoopbackServer):
    """The fake server: start with ``with``; ``url`` is its API base URL."""

    def __init__(self, token: str = "fake-token") -> None:
        self.token = token
        self.repos: dict[str, dict[str, Any]] = {}
        self.releases: dict[str, list[dict[str, Any]]] = {}
        #: each repository's tags (name -> the commitish it points at); None: every tag
        self.tags: dict[str, dict[str, str] | None] = {}
        self.requests: list[Recorded] = []
        self._script: list[Scripted] = []
        self._next_id = 1000
        self._lock = threading.Lock()
        #: how a release body is measured against MAX_BODY: "characters" or "bytes" (UTF-8)
        self.body_limit_unit = "characters"

    # ------------------------------------------------------------- lifecycle

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._serve(Handler)
        return self

    # ----------------------------------------------------------------- state

    def add_repo(self, full_name: str) -> dict[str, Any]:
        owner, name = full_name.split("/")
        repo = {
            "id": len(self.repos) + 1,
            "name": name,
            "full_name": full_name,
            "owner": {"login": owner, "id": 1, "type": "Organization"},
            "private": False,
            "url": f"{self.url}/repos/{full_name}",
            "html_url": f"https://github.example/{full_name}",
            "default_branch": "main",
        }
        self.repos[full_name] = repo
        self.releases.setdefault(full_name, [])
        self.tags.setdefault(full_name, None)
        return repo

    def push_tags(self, full_name: str, *tags: str) -> None:
        """The repository holds these tags (at its head) and no other."""
        self.tags[full_name] = dict.fromkeys(tags, "main")

    def add_release(self, full_name: str, tag: str, body: str = "", **extra: Any) -> dict[str, Any]:
        with self._lock:
            return self._create(full_name, {"tag_name": tag, "name": tag, "body": body, **extra})

    def release(self, full_name: str, tag: str) -> dict[str, Any] | None:
        return next((r for r in self.releases.get(full_name, []) if r["tag_name"] == tag), None)

    def script(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: Any = None,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        stored: bool = False,
        stored_state: str = "uploaded",
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` with this
        (with ``stored``, after carrying each out: "stored, then 5xx")."""
        for _ in range(times):
            self._script.append(
                Scripted(
                    method.upper(),
                    re.compile(path_regex),
                    status,
                    body,
                    dict(headers or {}),
                    stored,
                    stored_state,
                )
            )

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    # -------------------------------------------------------------- handling

    def _create(self, full_name: str, data: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        rid = self._next_id
        tag = data["tag_name"]
        base = f"{self.url}/repos/{full_name}/releases/{rid}"
        release = {
            "id": rid,
            "url": base,
            "html_url": f"https://github.example/{full_name}/releases/tag/{tag}",
            "assets_url": f"{base}/assets",
            "upload_url": f"{self.url}/repos/{full_name}/releases/{rid}/assets{{?name,label}}",
            "tag_name": tag,
            "target_commitish": data.get("target_commitish", "main"),
            "name": data.get("name", tag),
            "body": data.get("body", ""),
            "draft": bool(data.get("draft", False)),
            "prerelease": bool(data.get("prerelease", False)),
            "make_latest": data.get("make_latest", "true"),
            "created_at": "2025-01-01T00:00:00Z",
            "published_at": "2025-01-01T00:00:00Z",
            "author": {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"},
            "assets": [],
        }
        self.releases.setdefault(full_name, []).append(release)
        return release

    def _too_long(self, body: Any) -> bool:
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str):
            return False
        size = len(text.encode("utf-8")) if self.body_limit_unit == "bytes" else len(text)
        return size > MAX_BODY

    def handle(
        self, method: str, raw_path: str, body: Any, authorization: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(raw_path)
        path = split.path
        query = parse_qs(split.query)
        with self._lock:
            self.requests.append(Recorded(method, path, body, authorization, split.query))
            for i, item in enumerate(self._script):
                if item.method == method and item.path.search(path):
                    del self._script[i]
                    if item.stored and self._authorized(authorization):
                        status, done, _ = self._route(method, path, query, body)
                        if status == 201 and isinstance(done, dict) and "state" in done:
                            done["state"] = item.stored_state
                    return item.status, _echo(item.body, authorization), item.headers
            if not self._authorized(authorization):
                return 401, BAD_CREDENTIALS, {}
            return self._route(method, path, query, body)

    def _authorized(self, authorization: str | None) -> bool:
        return authorization in (f"token {self.token}", f"Bearer {self.token}")

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if not m or m[1] not in self.repos:
            return 404, NOT_FOUND, {}
        full_name, rest = m[1], m[2] or ""
        releases = self.releases[full_name]
        if rest == "" and method == "GET":
            return 200, self.repos[full_name], {}
        if rest == "/releases" and method == "GET":
            per_page = min(int(query.get("per_page", ["30"])[0]), 100)  # GitHub's most
            page = int(query.get("page", ["1"])[0])
            ordered = sorted(releases, key=lambda r: r["id"], reverse=True)
            chunk = ordered[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(ordered):
                nxt = f"{self.url}/repos/{full_name}/releases?per_page={per_page}&page={page + 1}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            return 200, chunk, headers
        if rest == "/releases" and method == "POST":
            if not isinstance(body, dict) or not body.get("tag_name"):
                return (
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"field": "tag_name", "code": "missing_field"}],
                    },
                    {},
                )
            if self._too_long(body):
                return 422, BODY_TOO_LONG, {}
            if any(r["tag_name"] == body["tag_name"] and not r["draft"] for r in releases):
                return (
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {"resource": "Release", "code": "already_exists", "field": "tag_name"}
                        ],
                    },
                    {},
                )
            tags = self.tags.get(full_name)
            if tags is not None and not body.get("draft") and body["tag_name"] not in tags:
                tags[body["tag_name"]] = body.get("target_commitish") or "main"
            return 201, self._create(full_name, body), {}
        g = re.fullmatch(r"/git/ref/tags/(.+)", rest)
        if g and method == "GET":
            tag, tags = unquote(g[1]), self.tags.get(full_name)
            if tags is not None and tag not in tags:
                return 404, NOT_FOUND, {}
            sha = "0" * 40
            return 200, {
                "ref": f"refs/tags/{tag}",
                "url": f"{self.url}/repos/{full_name}/git/refs/tags/{tag}",
                "object": {"type": "commit", "sha": sha, "url": f"{self.url}/repos/{full_name}/git/commits/{sha}"},
            }, {}  # fmt: skip
        t = re.fullmatch(r"/releases/tags/(.+)", rest)
        if t and method == "GET":
            tag = unquote(t[1])
            found = next((r for r in releases if r["tag_name"] == tag and not r["draft"]), None)
            return (200, found, {}) if found else (404, NOT_FOUND, {})
        a = re.fullmatch(r"/releases/([0-9]+)/assets", rest)
        if a:
            found = next((r for r in releases if r["id"] == int(a[1])), None)
            if found is None:
                return 404, NOT_FOUND, {}
            if method == "GET":
                return 200, found["assets"], {}
            if method == "POST":
                name = query.get("name", [""])[0]
                if any(x["name"] == name for x in found["assets"]):
                    return 422, {"message": "Validation Failed", "errors": [
                        {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}
                    ]}, {}  # fmt: skip
                self._next_id += 1
                asset = {
                    "id": self._next_id,
                    "url": f"{self.url}/repos/{full_name}/releases/assets/{self._next_id}",
                    "browser_download_url": f"https://github.example/{full_name}/releases/"
                    f"download/{found['tag_name']}/{name}",
                    "name": name,
                    "label": query.get("label", [""])[0],
                    "state": "uploaded",
                    "content_type": "text/plain",
                    "size": len(body if isinstance(body, (str, bytes)) else json.dumps(body)),
                    "content": body,
                    "download_count": 0,
                    "created_at": "2025-01-01T00:00:00Z",
                    "updated_at": "2025-01-01T00:00:00Z",
                }
                found["assets"].append(asset)
                return 201, asset, {}
        d = re.fullmatch(r"/releases/assets/([0-9]+)", rest)
        if d and method in ("DELETE", "PATCH"):
            for release in releases:
                for asset in release["assets"]:
                    if asset["id"] != int(d[1]):
                        continue
                    if method == "DELETE":
                        release["assets"].remove(asset)
                        return 204, None, {}
                    change = body if isinstance(body, dict) else {}
                    name = change.get("name", asset["name"])
                    if any(x["name"] == name and x is not asset for x in release["assets"]):
                        return 422, {"message": "Validation Failed", "errors": [
                            {"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}
                        ]}, {}  # fmt: skip
                    asset["name"] = name
                    url = asset["browser_download_url"]
                    asset["browser_download_url"] = f"{url.rsplit('/', 1)[0]}/{name}"
                    asset["label"] = change.get("label", asset["label"])
                    return 200, asset, {}
            return 404, NOT_FOUND, {}
        i = re.fullmatch(r"/releases/([0-9]+)", rest)
        if i:
            found = next((r for r in releases if r["id"] == int(i[1])), None)
            if found is None:
                return 404, NOT_FOUND, {}
            if method == "GET":
                return 200, found, {}
            if method == "PATCH" and isinstance(body, dict):
                if self._too_long(body):
                    return 422, BODY_TOO_LONG, {}
                for key in (
                    "name",
                    "body",
                    "draft",
                    "prerelease",
                    "tag_name",
                    "target_commitish",
                    "make_latest",
                ):
                    if key in body:
                        found[key] = body[key]
                return 200, found, {}
        return 404, NOT_FOUND, {}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeGitHub
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        status, payload, headers = self.owner.handle(
            self.command, self.path, body, self.headers.get("Authorization")
        )
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve
    do_POST = _serve
    do_PATCH = _serve
    do_PUT = _serve
    do_DELETE = _serve
