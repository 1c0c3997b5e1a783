"""A local stand-in for the Hugging Face Hub that serves the demo GGUF, for `rbyf pull`.

It answers what huggingface_hub 2.4 and rbyf_tui.hub ask, the way huggingface.co does:
- GET /api/models/ORG/NAME[/revision/REV]?blobs=true: the model info, with each file's
  size, blobId and, for LFS files, lfs.sha256/size/pointerSize; `sha` is the commit.
- HEAD or GET /ORG/NAME/resolve/REV/FILE: an LFS file answers 302 to the "CDN" (a second
  server, so another origin: huggingface_hub stops at the redirect and reads X-Repo-Commit,
  X-Linked-Etag = the sha256, X-Linked-Size from it, and the token must not go on), with the
  X-Xet-Hash and xet-auth Link the Hub sends for Xet-backed files (rbyf must not use them);
  a small file is served right there.
- GET /cdn/SHA256 on the CDN: the bytes, with Range requests (206 + Content-Range).
- Errors as the Hub sends them: an unknown repo 404 with X-Error-Code RepoNotFound, an
  unknown file 404 EntryNotFound (with X-Repo-Commit), a gated repo's file 401 GatedRepo
  without a token and 403 GatedRepo with a wrong one.
Switches on the FakeHub: `cut_at` (the CDN ends the body at that byte of the file and drops
the connection, once: an interrupted transfer), `down` (the CDN drops every connection
without an answer; `down_after_cut` sets it at the cut), `rate` (bytes per second). The
corrupt repo sends one byte of the demo model changed while listing the true sha256.
Every request is recorded (server, method, path, headers).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

ORG = "rbyf-tests"
REPO = f"{ORG}/gemma-3-270m-GGUF"
GATED = f"{ORG}/gated-GGUF"
CORRUPT = f"{ORG}/corrupt-GGUF"
FILE = "gemma-3-270m-Q4_K_M.gguf"
SPLIT_FIRST = "Q6_K/gemma-3-270m-Q6_K-00001-of-00002.gguf"
SPLIT_SECOND = "Q6_K/gemma-3-270m-Q6_K-00002-of-00002.gguf"
TOKEN = "hf_rbyfTestToken0123456789"
FLIP_AT = 1_000_000  # the corrupt repo's changed byte
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Blob:
    """A byte range of a file on disk, served as one LFS file."""

    path: Path
    start: int = 0
    length: int | None = None  # to the end of the file
    flip_at: int | None = None  # this byte is sent changed (the listed sha256 stays true)

    @property
    def size(self) -> int:
        end = self.path.stat().st_size
        return end - self.start if self.length is None else self.length

    @property
    def sha256(self) -> str:
        return _sha256(self.path, self.start, self.size)

    def chunks(self, begin: int, end: int) -> Iterator[bytes]:
        """The bytes [begin, end) of this file."""
        with self.path.open("rb") as fh:
            fh.seek(self.start + begin)
            pos = begin
            while pos < end:
                data = bytearray(fh.read(min(CHUNK, end - pos)))
                if not data:
                    return
                if self.flip_at is not None and pos <= self.flip_at < pos + len(data):
                    data[self.flip_at - pos] ^= 0xFF
                yield bytes(data)
                pos += len(data)


_SHAS: dict[tuple[str, int, int, int], str] = {}


def _sha256(path: Path, start: int, size: int) -> str:
    key = (str(path), path.stat().st_mtime_ns, start, size)
    if key not in _SHAS:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            fh.seek(start)
            left = size
            while left:
                block = fh.read(min(left, 4 << 20))
                digest.update(block)
                left -= len(block)
        _SHAS[key] = digest.hexdigest()
    return _SHAS[key]


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(blob: Blob) -> bytes:
    return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{blob.sha256}\n"
            f"size {blob.size}\n").encode()


@dataclass
class Repo:
    name: str
    files: dict[str, Blob | bytes]
    gated: bool = False

    @property
    def commit(self) -> str:
        return hashlib.sha1(self.name.encode()).hexdigest()


def demo_repos(demo: Path) -> dict[str, Repo]:
    half = demo.stat().st_size // 2
    card = b"---\nlibrary_name: gguf\n---\n# The demo model, for rbyf's tests\n"
    main = Repo(REPO, {
        ".gitattributes": b"*.gguf filter=lfs diff=lfs merge=lfs -text\n",
        "README.md": card,
        FILE: Blob(demo),
        # stand-ins for the listing and the choice (never loaded as models)
        "gemma-3-270m-Q8_0.gguf": Blob(demo, 0, 3_000_000),
        "gemma-3-270m-Q5_K_M.gguf": Blob(demo, 0, 2_000_000),
        "gemma-3-270m-it-Q5_K_M.gguf": Blob(demo, 0, 2_500_000),
        "mmproj-gemma-3-270m-F16.gguf": Blob(demo, 0, 1_000_000),
        # a split model: the demo model in two halves
        SPLIT_FIRST: Blob(demo, 0, half),
        SPLIT_SECOND: Blob(demo, half),
    })
    gated = Repo(GATED, {"README.md": card, FILE: Blob(demo)}, gated=True)
    corrupt = Repo(CORRUPT, {"README.md": card, FILE: Blob(demo, flip_at=FLIP_AT)})
    return {r.name: r for r in (main, gated, corrupt)}


@dataclass
class Request:
    server: str  # "api" or "cdn"
    method: str
    path: str
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class FakeHub:
    repos: dict[str, Repo]
    cut_at: int | None = None
    down_after_cut: bool = False  # the cut leaves the CDN down: a connection lost for good
    down: bool = False
    rate: int | None = None  # bytes per second from the CDN
    requests: list[Request] = field(default_factory=list)
    endpoint: str = ""
    cdn: str = ""

    def seen(self, server: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests
                if r.server == server and (method is None or r.method == method)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _record(self) -> None:
        self.server.hub.requests.append(
            Request(self.server.name, self.command, self.path, dict(self.headers)))

    def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str,
               extra: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/json", **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        headers["X-Error-Message"] = message
        self._send(status, headers, json.dumps({"error": message}).encode())

    def do_HEAD(self) -> None:
        self._record()
        self.handle_request()

    def do_GET(self) -> None:
        self._record()
        self.handle_request()

    def handle_request(self) -> None:
        raise NotImplementedError


class _ApiHandler(_Handler):
    def handle_request(self) -> None:
        hub = self.server.hub
        url = urlsplit(self.path)
        path = unquote(url.path)
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
        if api:
            self._model_info(api[1], parse_qs(url.query).get("blobs") == ["true"])
            return
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if not resolve:
            self._error(404, None, "Not Found")
            return
        name, revision, filename = resolve.groups()
        repo = hub.repos.get(name)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return
        if revision not in ("main", repo.commit):
            self._error(404, "RevisionNotFound", "Invalid rev id: " + revision)
            return
        if repo.gated:
            auth = self.headers.get("Authorization")
            if auth is None:
                self._error(401, "GatedRepo", f"Access to model {name} is restricted. You must "
                            "have access to it and be authenticated to access it. Please log in.")
                return
            if auth != f"Bearer {TOKEN}":
                self._error(403, "GatedRepo", f"Access to model {name} is restricted and you "
                            "are not in the authorized list.")
                return
        item = repo.files.get(filename)
        if item is None:
            self._error(404, "EntryNotFound", f"{filename} does not exist on \"main\"",
                        {"X-Repo-Commit": repo.commit})
            return
        common = {"X-Repo-Commit": repo.commit, "Accept-Ranges": "bytes"}
        if isinstance(item, bytes):
            self._send(200, {**common, "ETag": f'"{git_oid(item)}"',
                             "Content-Type": "text/plain; charset=utf-8"}, item)
            return
        location = f"{hub.cdn}/cdn/{item.sha256}?repo={quote(name, safe='')}&file=" \
                   f"{quote(filename, safe='')}&sig=fake"
        self._send(302, {
            **common,
            "Location": location,
            "ETag": f'"{git_oid(lfs_pointer(item))}"',
            "X-Linked-Etag": f'"{item.sha256}"',
            "X-Linked-Size": str(item.size),
            "X-Xet-Hash": hashlib.sha256(b"xet" + item.sha256.encode()).hexdigest(),
            "Link": f'<{hub.endpoint}/api/models/{name}/xet-read-token/{repo.commit}>; '
                    'rel="xet-auth"',
        })

    def _model_info(self, name: str, blobs: bool) -> None:
        repo = self.server.hub.repos.get(name)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return
        siblings = []
        for filename, item in repo.files.items():
            entry: dict[str, Any] = {"rfilename": filename}
            if blobs and isinstance(item, bytes):
                entry.update(blobId=git_oid(item), size=len(item))
            elif blobs and isinstance(item, Blob):
                entry.update(blobId=git_oid(lfs_pointer(item)), size=item.size,
                             lfs={"sha256": item.sha256, "size": item.size,
                                  "pointerSize": len(lfs_pointer(item))})
            siblings.append(entry)
        body = {"_id": repo.commit[:24], "id": name, "modelId": name, "author": ORG,
                "sha": repo.commit, "private": False, "disabled": False,
                "gated": "manual" if repo.gated else False, "library_name": "gguf",
                "tags": ["gguf"], "siblings": siblings,
                "lastModified": "2025-01-01T00:00:00.000Z"}
        self._send(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


class _CdnHandler(_Handler):
    def handle_request(self) -> None:
        hub = self.server.hub
        url = urlsplit(self.path)
        match = re.fullmatch(r"/cdn/([0-9a-f]{64})", url.path)
        if hub.down:
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        query = parse_qs(url.query)
        repo = hub.repos.get(query.get("repo", [""])[0])
        item = repo.files.get(query.get("file", [""])[0]) if repo else None
        if not match or not isinstance(item, Blob) or item.sha256 != match[1]:
            self._send(404, {"Content-Type": "text/plain"}, b"NoSuchKey")
            return
        size = item.size
        begin, end, status = 0, size, 200
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes",
                   "ETag": f'"{item.sha256}"'}
        wanted = self.headers.get("Range")
        if wanted:
            span = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
            if not span or int(span[1]) >= size:
                self._send(416, {**headers, "Content-Range": f"bytes */{size}"})
                return
            begin = int(span[1])
            end = min(int(span[2]) + 1, size) if span[2] else size
            status = 206
            headers["Content-Range"] = f"bytes {begin}-{end - 1}/{size}"
        headers["Content-Length"] = str(end - begin)
        self._send(status, headers)
        if self.command == "HEAD":
            return
        self._body(item, begin, end)

    def _body(self, item: Blob, begin: int, end: int) -> None:
        hub = self.server.hub
        cut = hub.cut_at if hub.cut_at is not None and begin <= hub.cut_at < end else None
        stop_at = end if cut is None else cut
        started = time.monotonic()
        sent = 0
        try:
            for data in item.chunks(begin, stop_at):
                self.wfile.write(data)
                sent += len(data)
                if hub.rate:
                    ahead = sent / hub.rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
            if cut is not None:  # the body promised more: drop the connection
                hub.cut_at = None
                hub.down = hub.down_after_cut
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:  # the client went away (a stopped pull)
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, hub: FakeHub, handler: type[_Handler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.name = name
        self.hub = hub

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def running(demo: Path) -> Iterator[FakeHub]:
    hub = FakeHub(demo_repos(demo))
    api = _Server("api", hub, _ApiHandler)
    cdn = _Server("cdn", hub, _CdnHandler)
    hub.endpoint, hub.cdn = api.url(), cdn.url()
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (api, cdn)]
    for thread in threads:
        thread.start()
    try:
        yield hub
    finally:
        for server in (api, cdn):
            server.shutdown()
            server.server_close()


def closed_port() -> str:
    """An address where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
