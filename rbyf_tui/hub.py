"""GGUF models from the Hugging Face Hub: list a repo's files, pick one, pull it into the hub
cache (so every tool that reads that cache sees it too).

The listing and each file's metadata come from huggingface_hub (HfApi.model_info,
get_hf_file_metadata), and the finished file is linked into the cache by hf_hub_download
itself. The bytes are fetched here, over plain HTTP with huggingface_hub's session and
headers, because hf_hub_download (2.4) cannot do what a pull needs: it writes to a temporary
file unique to the process and deletes it when the download fails, so nothing resumes in a
later run; its progress hook sees 10 MiB at a time; and it does not check the sha256 of a
plain HTTP download. Here the partial file stays as `blobs/<sha256>.incomplete` (never
listed as a model), the next pull asks for the rest with a Range request, a stop is seen
between network reads, and the bytes are hashed as they arrive. hf_xet is never used: Xet
storage also serves every file over HTTP, and one path keeps resume and progress the same.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx2
from filelock import Timeout as LockTimeout
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url
from huggingface_hub.errors import (
    FileMetadataError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import HfFileMetadata, repo_folder_name
from huggingface_hub.utils import WeakFileLock, build_hf_headers, get_session, hf_raise_for_status

from rbyf_tui import __version__
from rbyf_tui.errors import RbyfError
from rbyf_tui.model_places import SPLIT_RE

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT = 15.0  # seconds without an answer (metadata) or without a byte (download)
RETRIES = 3  # a dropped connection is retried from where it stopped this many times
PROGRESS_EVERY = 0.1  # seconds between progress callbacks
QUANT = re.compile(
    r"(?:^|[-._/])((?:UD-)?(?:I?Q\d(?:_[A-Z0-9]+)*|TQ\d_\d|BF16|F16|F32|FP16|FP32"
    r"|MXFP4(?:_MOE)?))(?=$|[-._/])", re.IGNORECASE)
SHA256 = re.compile(r"[0-9a-f]{64}")
EXAMPLE = "Qwen/Qwen2.5-1.5B-Instruct-GGUF"


class PullError(RbyfError):
    """One line: offline, unknown repo or file, gated, disk full, checksum mismatch, stopped."""


class PullStopped(PullError):
    """The stop event was set: the partial file is kept and the next pull resumes it."""


@dataclass(frozen=True)
class HubFile:
    repo: str
    filename: str  # the first shard of a split model
    size: int | None  # all shards together
    sha256: str | None  # of `filename` (the Hub's LFS oid)
    quantization: str | None  # guessed from the file name, e.g. "Q5_K_M"
    shards: tuple[str, ...]  # every file of a split model (filename is the first)


# --- where: read at call time, so a changed environment (tests, the app) counts --------


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_cache() -> Path:
    """The hub cache as huggingface_hub finds it (discovery lists it from the same place)."""
    from rbyf_tui.model_places import hf_hub_dir

    return hf_hub_dir()


def offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.upper() in {"1", "ON", "YES", "TRUE"}


def repo_id(text: str) -> str:
    """The repo id from what a person types: ORG/NAME, hf:ORG/NAME or the repo's web address."""
    text = text.strip().removeprefix("hf:")
    for prefix in (endpoint() + "/", DEFAULT_ENDPOINT + "/"):
        text = text.removeprefix(prefix)
    text = text.strip("/")
    if text.count("/") != 1 or any(not part for part in text.split("/")):
        raise PullError(f"not a Hub repo: {text!r}: give ORG/NAME, e.g. {EXAMPLE}")
    return text


# --- listing and choosing ----------------------------------------------------------------


def quantization(filename: str) -> str | None:
    """The quantization a GGUF file name carries ("...-Q5_K_M.gguf" -> "Q5_K_M")."""
    stem = re.sub(r"(-\d{5}-of-\d{5})?\.gguf$", "", filename, flags=re.IGNORECASE)
    found = QUANT.findall(stem)
    return found[-1].upper() if found else None


def _is_model(filename: str) -> bool:
    name = filename.rsplit("/", 1)[-1].lower()
    return name.endswith(".gguf") and "mmproj" not in name  # projectors are not models


def list_gguf(repo: str, token: str | None = None) -> list[HubFile]:
    """The repo's GGUF models, smallest first; a split model is listed once."""
    repo = repo_id(repo)
    if offline():
        raise _offline_error()
    api = HfApi(endpoint=endpoint(), library_name="rbyf", library_version=__version__)
    with _translated(repo, None, token):
        info = api.model_info(repo, files_metadata=True, token=token, timeout=TIMEOUT)
    singles: list[HubFile] = []
    splits: dict[tuple[str, str], list[tuple[str, int | None, str | None]]] = {}
    for sibling in info.siblings or []:
        name = sibling.rfilename
        if not _is_model(name):
            continue
        size = sibling.lfs.size if sibling.lfs else sibling.size
        sha = sibling.lfs.sha256 if sibling.lfs else None
        match = SPLIT_RE.search(name)
        if match:
            key = (name[:match.start()], match[2])
            splits.setdefault(key, []).append((name, size, sha))
        else:
            singles.append(HubFile(repo, name, size, sha, quantization(name), (name,)))
    for parts in splits.values():
        parts.sort()
        names = tuple(p[0] for p in parts)
        sizes = [p[1] for p in parts]
        total = None if None in sizes else sum(s for s in sizes if s is not None)
        singles.append(HubFile(repo, names[0], total, parts[0][2], quantization(names[0]), names))
    return sorted(singles, key=lambda f: (f.size is None, f.size or 0, f.filename))


def describe(file: HubFile) -> str:
    """"name.gguf (Q5_K_M, 1.3 GB)", with the shard count of a split model."""
    parts = [p for p in (file.quantization, format_size(file.size)) if p]
    if len(file.shards) > 1:
        parts.append(f"{len(file.shards)} files")
    return f"{file.filename} ({', '.join(parts)})" if parts else file.filename


def choose(files: list[HubFile], wanted: str | None) -> HubFile:
    """The file named `wanted` (a file name or a quantization such as q5_k_m, any case);
    the only file when nothing is wanted. PullError with the choices otherwise."""
    if not files:
        raise PullError("the repo has no GGUF model files: choose a repo whose name usually "
                        "ends in -GGUF")
    repo = files[0].repo
    if wanted is None:
        if len(files) == 1:
            return files[0]
        raise PullError(f"{repo} has {len(files)} GGUF models: choose one by file name or "
                        f"quantization: {_choices(files)}")
    text = wanted.strip()
    low = text.lower()
    by_name = [f for f in files if text in f.shards] or [
        f for f in files
        if any(low in (s.lower(), s.rsplit("/", 1)[-1].lower()) for s in f.shards)]
    if len(by_name) == 1:
        return by_name[0]
    quant = low.removesuffix(".gguf").upper()
    matches = by_name or [f for f in files if f.quantization == quant] or [
        f for f in files if f.quantization and f.quantization.endswith("-" + quant)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise PullError(f"{wanted} matches {len(matches)} files in {repo}: give the file name: "
                        f"{_choices(matches)}")
    raise PullError(f"no GGUF file or quantization {wanted!r} in {repo}: choose one of: "
                    f"{_choices(files)}")


def _choices(files: list[HubFile]) -> str:
    return "; ".join(describe(f) for f in files)


# --- pulling ------------------------------------------------------------------------------


@dataclass
class _Remote:
    """One file to fetch: its size and sha256 on the Hub, and where it goes."""

    name: str
    size: int | None
    sha256: str | None
    blob: Path
    pointer: Path
    lock: Path
    digest: Any = field(default_factory=hashlib.sha256)  # of the partial file's bytes

    @property
    def partial(self) -> Path:
        return self.blob.with_name(self.blob.name + ".incomplete")

    def have(self) -> int:
        if self.blob.exists():
            return self.blob.stat().st_size
        with contextlib.suppress(OSError):
            return self.partial.stat().st_size
        return 0


class _Progress:
    """Calls the callback at most every PROGRESS_EVERY seconds, and always at the ends."""

    def __init__(self, callback: Callable[[int, int], None] | None, done: int,
                 total: int) -> None:
        self.callback, self.done, self.total, self.last = callback, done, total, 0.0

    def add(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.emit(now)

    def emit(self, now: float | None = None) -> None:
        self.last = time.monotonic() if now is None else now
        if self.callback is not None:
            self.callback(self.done, self.total)


def parse_spec(text: str) -> tuple[str, str | None]:
    """"ORG/NAME" or "ORG/NAME/FILE.gguf" (also with hf: in front) -> (repo, file or None)."""
    text = text.strip().removeprefix("hf:")
    parts = text.split("/")
    if len(parts) > 2 and parts[-1].lower().endswith(".gguf"):
        return repo_id("/".join(parts[:2])), "/".join(parts[2:])
    return repo_id(text), None


def pull(file: HubFile, progress: Callable[[int, int], None] | None = None,
         stop: threading.Event | None = None, token: str | None = None) -> Path:
    """Download every shard of `file` into the hub cache and return the local path of the
    first one (a link in snapshots/<commit>/ to a blob named by its sha256). A partial
    download is resumed; each file is checked against the Hub's sha256 before it becomes a
    blob. `progress(done, total)` counts bytes over all shards (total 0 when unknown),
    at most every PROGRESS_EVERY seconds. PullStopped when `stop` is set."""
    if offline():
        raise _offline_error()
    stop = stop or threading.Event()
    base = endpoint()
    cache = hub_cache()
    storage = cache / repo_folder_name(repo_id=file.repo, repo_type="model")
    remotes: list[_Remote] = []
    commit = "main"
    for name in file.shards or (file.filename,):
        with _translated(file.repo, name, token):
            meta = _metadata(file.repo, name, commit, token)
        commit = meta.commit_hash or ""  # the first shard pins the commit for the others
        etag = meta.etag or ""
        sha = etag if SHA256.fullmatch(etag) else (
            file.sha256 if name == file.filename else None)
        size = meta.size if meta.size is not None else (
            file.size if len(file.shards) <= 1 else None)
        remotes.append(_Remote(
            name, size, sha, storage / "blobs" / etag, storage / "snapshots" / commit / name,
            cache / ".locks" / storage.name / f"{etag}.lock"))
    sizes = [r.size for r in remotes]
    total = 0 if None in sizes else sum(s or 0 for s in sizes)
    state = _Progress(progress, sum(r.have() for r in remotes), total)
    state.emit()
    if all(r.pointer.exists() for r in remotes):
        return remotes[0].pointer
    _check_space(remotes, storage)
    for remote in remotes:
        if not remote.blob.exists():
            _fetch(file.repo, remote, state, stop, commit, token)
    for remote in remotes:  # the snapshot link, made by huggingface_hub itself
        with _translated(file.repo, remote.name, token):
            hf_hub_download(file.repo, remote.name, revision=commit, cache_dir=cache,
                            endpoint=base, token=token, library_name="rbyf",
                            library_version=__version__)
    _write_ref(storage, commit)
    state.done = max(state.done, total)
    state.emit()
    return remotes[0].pointer


def _metadata(repo: str, name: str, revision: str, token: str | None) -> HfFileMetadata:
    """HEAD of the file: commit, sha256 (the LFS ETag), size, and where the bytes are."""
    base = endpoint()
    meta = get_hf_file_metadata(
        hf_hub_url(repo, name, revision=revision, endpoint=base), token=token, timeout=TIMEOUT,
        library_name="rbyf", library_version=__version__, endpoint=base)
    if not meta.commit_hash or not meta.etag:
        raise PullError(f"{base} does not answer like the Hugging Face Hub (no commit or ETag "
                        f"for {name}): check HF_ENDPOINT")
    return meta


def _fetch(repo: str, remote: _Remote, state: _Progress, stop: threading.Event, commit: str,
           token: str | None) -> None:
    """Fetch one file into its .incomplete file, resuming it, then check it and make it a
    blob. The lock is huggingface_hub's own, so a `hf download` of the file waits too."""
    try:
        remote.blob.parent.mkdir(parents=True, exist_ok=True)
        remote.lock.parent.mkdir(parents=True, exist_ok=True)
        with WeakFileLock(remote.lock, timeout=1):
            if remote.blob.exists():  # another process finished it meanwhile
                return
            _resume(remote, state)
            _transfer(repo, remote, state, stop, commit, token)
            _verify(repo, remote)
    except LockTimeout:
        raise PullError(f"another download of {remote.name} is running (lock {remote.lock}): "
                        "wait for it to end, then run the same command") from None
    except OSError as exc:
        if isinstance(exc, HfHubHTTPError):
            raise
        _disk_error(exc, remote, state)


def _resume(remote: _Remote, state: _Progress) -> None:
    """Hash the bytes already there (a partial file is always a prefix of the file)."""
    have = remote.have()
    if remote.size is not None and have > remote.size:
        state.done -= have
        remote.partial.unlink()
        return
    with contextlib.suppress(FileNotFoundError), remote.partial.open("rb") as fh:
        left = have
        while left > 0:
            block = fh.read(min(left, 4 << 20))
            if not block:
                break
            remote.digest.update(block)
            left -= len(block)


def _transfer(repo: str, remote: _Remote, state: _Progress, stop: threading.Event,
              commit: str, token: str | None) -> None:
    """GET the rest of the file (Range from the partial file's size); a dropped connection
    is asked again from where it stopped, up to RETRIES times in a row."""
    failures = 0
    while True:
        have = remote.have()
        if remote.size is not None and have >= remote.size:
            return
        if stop.is_set():
            raise PullStopped(f"stopped: {remote.name} is {format_size(have) or '0 B'} in: "
                              "run the same command to resume")
        try:
            with _translated(repo, remote.name, token, transport=False):
                # asked again on each try: a CDN address is signed and expires
                meta = _metadata(repo, remote.name, commit, token)
                _get(meta.location, remote, state, stop, have, token)
            if remote.size is None and not stop.is_set():
                return  # no size to compare with: the end of the body is the end
            error: Exception | None = None
        except httpx2.TransportError as exc:
            error = exc
        # a try that brought bytes starts the count again
        failures = 1 if remote.have() > have else failures + 1
        if failures > RETRIES:
            why = f"; {_reason(error)}" if error else ""
            raise PullError(
                f"lost the connection to {endpoint()} while downloading {remote.name} "
                f"({format_size(remote.have()) or '0 B'} in{why}): check the network, then "
                "run the same command to resume")
        if error is not None:
            stop.wait(failures)


def _get(source: str, remote: _Remote, state: _Progress, stop: threading.Event, have: int,
         token: str | None) -> None:
    """One GET from `have` on, appended to the partial file."""
    headers = build_hf_headers(token=token, library_name="rbyf", library_version=__version__)
    if urlsplit(source).netloc != urlsplit(endpoint()).netloc:  # a CDN: no token there
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    headers["Accept-Encoding"] = "identity"  # byte ranges of the file, not of a gzip
    if have:
        headers["Range"] = f"bytes={have}-"
    with get_session().stream("GET", source, headers=headers, timeout=TIMEOUT) as response:
        hf_raise_for_status(response)
        if have and response.status_code == 200:  # the server ignored the range
            state.done -= have
            remote.digest = hashlib.sha256()
            remote.partial.unlink()
        elif have and not response.headers.get("Content-Range", "").startswith(
                f"bytes {have}-"):
            raise PullError(f"the Hub sent another part of {remote.name} than asked for: run "
                            "the same command to try again")
        with remote.partial.open("ab") as out:
            for chunk in response.iter_bytes():
                if stop.is_set():
                    break
                out.write(chunk)
                remote.digest.update(chunk)
                state.add(len(chunk))


def _verify(repo: str, remote: _Remote) -> None:
    have = remote.have()
    if remote.size is not None and have != remote.size:
        raise PullError(f"{remote.name} ended at {have} bytes, the Hub says {remote.size}: "
                        "run the same command to resume")
    got = remote.digest.hexdigest()
    if remote.sha256 and got != remote.sha256:
        remote.partial.unlink()
        raise PullError(f"checksum mismatch: {remote.name} from {repo} has sha256 {got[:12]}…, "
                        f"the Hub lists {remote.sha256[:12]}…; the download was removed: run "
                        "the same command to download it again")
    os.replace(remote.partial, remote.blob)


def _check_space(remotes: list[_Remote], storage: Path) -> None:
    needed = sum(max((r.size or 0) - r.have(), 0) for r in remotes if not r.blob.exists())
    where = _existing(storage / "blobs")
    free = shutil.disk_usage(where).free
    if needed > free:
        raise PullError(f"disk full: {remotes[0].name} needs {format_size(needed)} more and "
                        f"{where} has {format_size(free) or '0 B'} free: free some space or "
                        "set HF_HUB_CACHE to a bigger disk")


def _disk_error(exc: OSError, remote: _Remote, state: _Progress) -> NoReturn:
    where = remote.blob.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        needed = max(state.total - state.done, 0)
        free = shutil.disk_usage(_existing(where)).free
        raise PullError(f"disk full: {remote.name} needs {format_size(needed) or '0 B'} more "
                        f"and {where} has {format_size(free) or '0 B'} free: free some space "
                        "(or set HF_HUB_CACHE to a bigger disk), then run the same command to "
                        "resume") from None
    if exc.errno == errno.EFBIG:
        raise PullError(f"cannot write {remote.name} ({format_size(remote.size)}) in {where}: "
                        "the file is larger than this system allows (ulimit -f, or the file "
                        "system's limit): raise the limit or set HF_HUB_CACHE to another disk"
                        ) from None
    raise PullError(f"cannot write the hub cache {where}: {exc.strerror or exc}: fix its "
                    "permissions or set HF_HUB_CACHE") from None


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _write_ref(storage: Path, commit: str) -> None:
    """refs/main -> the commit, as hf_hub_download writes it for a branch (it does not for
    the commit hash this pull asks for): tools that look up "main" offline find the file."""
    ref = storage / "refs" / "main"
    with contextlib.suppress(OSError):
        if ref.exists() and ref.read_text() == commit:
            return
        ref.parent.mkdir(parents=True, exist_ok=True)
        tmp = ref.with_name(f"main.{os.getpid()}.tmp")
        tmp.write_text(commit)
        os.replace(tmp, ref)


# --- errors -------------------------------------------------------------------------------


def _offline_error() -> PullError:
    return PullError("offline: HF_HUB_OFFLINE is set: unset it to download from the Hub")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def _translated(repo: str, filename: str | None, token: str | None,
                transport: bool = True) -> Iterator[None]:
    """huggingface_hub's and httpx's errors as one line naming the thing and the fix;
    transport=False leaves network errors to the caller (a download retries them)."""
    try:
        yield
    except PullError:
        raise
    except GatedRepoError as exc:
        page = f"{endpoint()}/{repo}"
        if _status(exc) == 403 or _has_token(token):
            raise PullError(f"{repo} is gated and your token has no access to it: accept its "
                            f"terms at {page} (or use another token in HF_TOKEN)") from None
        raise PullError(f"{repo} is gated: accept its terms at {page}, then set HF_TOKEN to "
                        "a read token of that account") from None
    except RepositoryNotFoundError:
        hint = ("or your token cannot read it" if _has_token(token)
                else "or private: set HF_TOKEN to a token that can read it")
        raise PullError(f"unknown repo on the Hub: {repo} ({hint}): check the name, e.g. "
                        f"{EXAMPLE}") from None
    except (RemoteEntryNotFoundError, RevisionNotFoundError):
        raise PullError(f"no file {filename} in {repo}: run `rbyf pull {repo}` to see its "
                        "GGUF files") from None
    except OfflineModeIsEnabled:
        raise _offline_error() from None
    except HFValidationError as exc:
        raise PullError(f"not a Hub repo: {repo!r} ({_reason(exc)}): give ORG/NAME, e.g. "
                        f"{EXAMPLE}") from None
    except FileMetadataError:
        raise PullError(f"{endpoint()} does not answer like the Hugging Face Hub: check "
                        "HF_ENDPOINT") from None
    except HfHubHTTPError as exc:
        raise PullError(f"the Hub answered {_status(exc) or 'an error'} for {repo}"
                        f"{'/' + filename if filename else ''}: try again later") from None
    except LocalEntryNotFoundError:  # hf_hub_download could not reach the Hub
        raise PullError(f"cannot reach the Hugging Face Hub at {endpoint()}: check the "
                        "network (or HF_ENDPOINT), then run the same command") from None
    except httpx2.TransportError as exc:
        if not transport:
            raise
        raise PullError(f"cannot reach the Hugging Face Hub at {endpoint()} ({_reason(exc)}): "
                        "check the network (or HF_ENDPOINT), then try again") from None


def _status(exc: HfHubHTTPError) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _has_token(token: str | None) -> bool:
    if token:
        return True
    try:
        headers = build_hf_headers(token=None)
    except Exception:  # a broken stored token is as good as none here
        return False
    return any(k.lower() == "authorization" for k in headers)


# --- figures for progress displays (no UI here) -------------------------------------------


def format_size(size: int | None) -> str:
    """Decimal units, as the Hub shows them: "253 MB", "1.3 GB"; "" when unknown."""
    if size is None:
        return ""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{size} B"


class TransferRate:
    """Speed over the last `window` seconds and the time left at that speed: honest on a
    bursty link, and bytes that were there before (a resume) do not count as speed."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self.samples: list[tuple[float, int]] = []

    def update(self, done: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.window:
            self.samples.pop(0)

    @property
    def speed(self) -> float | None:
        """Bytes per second, None until there is a second of data."""
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        if t1 - t0 < 1.0:
            return None
        return max(d1 - d0, 0) / (t1 - t0)

    def eta(self, done: int, total: int) -> float | None:
        speed = self.speed
        if not speed or not total:
            return None
        return max(total - done, 0) / speed


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    hours, rest = divmod(round(seconds), 3600)
    clock = f"{rest // 60:02d}:{rest % 60:02d}"
    return f"{hours}:{clock}" if hours else clock
