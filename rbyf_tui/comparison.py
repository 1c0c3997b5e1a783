"""Comparison runs: several models generate one catalog in turn, one in memory at a time,
each into its own session, all with the comparison's seed and sampling. Used by `rbyf run`
and the app; no Textual here.

A comparison stores every model's spec (ModelSpec) in comparisons.settings, so that a
resume knows the models not started yet; each session is linked by comparison_id and
comparison_position (the model's place in the list).
"""

from __future__ import annotations

import contextlib
import threading
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from rbyf_tui import discovery, model_files
from rbyf_tui.backends import BackendOptions, make_backend, model_path, public_url
from rbyf_tui.catalog import Catalog
from rbyf_tui.errors import ModelError, RbyfError, UsageError
from rbyf_tui.opening import (
    BackendFactory,
    NewSession,
    Opening,
    ResumeSession,
    SessionStart,
    open_session,
    pick_seed,
)
from rbyf_tui.runner import Outcome, Runner
from rbyf_tui.store import ComparisonMember, ComparisonRow, Store

# What a spec keeps of BackendOptions (never `verbose`: that is how this run shows output).
_KEPT = tuple(f.name for f in fields(BackendOptions) if f.name not in ("verbose", "seed"))


@dataclass(frozen=True)
class ModelSpec:
    """One model of a comparison: how to run it (a .gguf path or a server) and its label."""

    options: BackendOptions
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self.options, name) for name in _KEPT}
        if data.get("base_url"):  # a user:password part is never stored
            data["base_url"] = public_url(data["base_url"])
        return {"label": self.label, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        options = BackendOptions(**{k: data[k] for k in _KEPT if k in data})
        return cls(options, str(data.get("label") or ""))


# A model list's [[model]] keys -> BackendOptions fields (the rest are `rbyf run`'s flags).
LIST_KEYS = {
    "path": "model", "base_url": "base_url", "api_model": "api_model",
    "api_key_env": "api_key_env", "chat_format": "chat_format", "gpu_layers": "gpu_layers",
    "threads": "threads", "ctx": "n_ctx", "reuse_prefix": "reuse_prefix",
    "first_token_timeout": "first_token_timeout_s", "token_timeout": "token_timeout_s",
}
_TYPES: dict[str, tuple[type, ...]] = {
    "gpu_layers": (int,), "threads": (int,), "ctx": (int,), "reuse_prefix": (bool,),
    "first_token_timeout": (int, float), "token_timeout": (int, float),
}


def spec_for_file(path: str, defaults: BackendOptions) -> ModelSpec:
    """A .gguf given on the command line (--model), with the run's other model options."""
    return ModelSpec(replace(defaults, backend="llama", model=path, base_url=None,
                             api_model=None))


def load_model_list(path: Path, defaults: BackendOptions) -> list[ModelSpec]:
    """The [[model]] entries of a TOML model list; each a .gguf `path` (relative to the
    list's folder) or a server's `base_url`, plus options as `rbyf run` takes them.
    Every problem is one line naming the file, the entry and the fix."""
    where = str(path)
    try:
        data = tomllib.loads(path.expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the model list {where}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{where}: invalid TOML: {exc}") from None
    entries = data.get("model")
    extra = sorted(set(data) - {"model"})
    if extra:
        raise UsageError(f"{where}: unknown table or key {extra[0]!r}: list models as "
                         "[[model]] entries")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{where}: no [[model]] entries: add one per model, with path = "
                         '"x.gguf" or base_url = "http://…/v1"')
    return [_entry(where, n, e, path.expanduser().parent, defaults)
            for n, e in enumerate(entries, start=1)]


def _entry(where: str, n: int, entry: dict[str, Any], folder: Path,
           defaults: BackendOptions) -> ModelSpec:
    at = f"{where}: model {n}"
    unknown = sorted(set(entry) - set(LIST_KEYS) - {"label"})
    if unknown:
        raise UsageError(f"{at}: unknown key {unknown[0]!r} (known: label, "
                         f"{', '.join(LIST_KEYS)})")
    for key, value in entry.items():
        types = _TYPES.get(key, (str,))
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            wanted = " or ".join(t.__name__ for t in types).replace("str", "a string")
            raise UsageError(f"{at}: {key} must be {wanted}, not {value!r}")
    if ("path" in entry) == ("base_url" in entry):
        raise UsageError(f"{at}: give either path (a .gguf file) or base_url (a server)")
    given = {LIST_KEYS[k]: v for k, v in entry.items() if k in LIST_KEYS}
    if "path" in entry:
        given["model"] = _list_path(at, entry["path"], folder)
        options = replace(defaults, backend="llama", base_url=None, api_model=None, **given)
    else:
        options = replace(defaults, backend="openai", model=None, **given)
    if options.api_key_env and not options.api_key_env.isidentifier():
        raise UsageError(f"{at}: api_key_env names an environment variable, e.g. "
                         f"MY_API_KEY, not {options.api_key_env!r}")
    try:
        options.check()
    except UsageError as exc:
        raise UsageError(f"{at}: {exc}") from None
    return ModelSpec(options, str(entry.get("label") or ""))


def _list_path(at: str, path: str, folder: Path) -> str:
    """A model list's path: a file (relative to the list's folder), else a model's name as
    --model takes it (an Ollama name, a name from `rbyf models`, hf:REPO/FILE)."""
    candidate = folder / Path(path).expanduser()
    if candidate.exists():
        return str(candidate.resolve())
    try:
        found = discovery.model_argument(path)
    except ModelError as exc:
        if path.lower().endswith(".gguf") and not path.startswith("hf:"):
            return str(candidate.resolve())  # a missing file: planning says which
        raise ModelError(f"{at}: {exc}") from None
    return str(candidate.resolve()) if found == path else found


# --- planning ---------------------------------------------------------------------------

def _described(spec: ModelSpec) -> dict[str, Any]:
    """The spec as stored: with the file's resolved path, sha256, quantization and size."""
    options = spec.options
    if options.backend == "openai":
        label = spec.label or f"{options.api_model or 'model'} at {options.server}"
        return {**replace(spec, label=label).to_dict(), "identity": f"openai:{options.server}"
                f"#{options.api_model or ''}"}
    path = model_files.check_gguf(model_path(options))
    label = spec.label or model_files.model_name(path)
    stored = replace(spec, options=replace(options, model=str(path)), label=label)
    return {**stored.to_dict(), "sha256": model_files.sha256_of(path),
            "quantization": model_files.quantization_of(path),
            "size_bytes": path.stat().st_size}


def plan_comparison(store: Store, catalog: Catalog, specs: Sequence[ModelSpec], *,
                    seed: int | None = None, origin: str = "run",
                    settings: dict[str, Any] | None = None) -> str:
    """Store a new comparison of `specs` on `catalog` and return its id. Refused in one line
    for fewer than 2 models or the same model twice (the same file by sha256, or the same
    served model). `settings` is what every session shares (max_tokens)."""
    if len(specs) < 2:
        raise UsageError("a comparison needs at least 2 models: repeat --model (or list "
                         "them in --models FILE)")
    described = [_described(s) for s in specs]
    seen: dict[str, str] = {}
    for entry in described:
        identity = entry.get("sha256") or entry["identity"]
        if identity in seen:
            same = (f"sha256 {identity[:12]}…" if entry.get("sha256")
                    else identity.removeprefix("openai:"))
            raise UsageError(f"{seen[identity]} and {entry['model'] or entry['label']} are the "
                             f"same model ({same}): compare different models")
        seen[identity] = entry["model"] or entry["label"]
    labels: dict[str, int] = {}
    for entry in described:  # two files of one name in two folders: keep labels apart
        labels[entry["label"]] = labels.get(entry["label"], 0) + 1
        if labels[entry["label"]] > 1:
            entry["label"] = f"{entry['label']} ({labels[entry['label']]})"
    seed = seed if seed is not None else pick_seed(BackendOptions())
    shared = {**(settings or {}), "n_tasks": len(catalog.tasks), "models": described}
    return store.create_comparison(catalog, seed=seed, settings=shared, origin=origin)


# --- running ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelStarting:
    position: int  # 0-based
    count: int
    label: str
    resumed: bool


@dataclass(frozen=True)
class TaskDone:
    position: int
    index: int  # 1-based, over the catalog's tasks with the warm-up
    count: int
    outcome: Outcome


@dataclass(frozen=True)
class ModelDone:
    position: int
    label: str
    session_id: str
    generated: int  # answers made now
    errors: int
    already: bool = False  # every task had an answer before this run


@dataclass(frozen=True)
class ModelFailed:
    position: int
    label: str
    error: str


Event = ModelStarting | TaskDone | ModelDone | ModelFailed


def find_member_spec(comparison: ComparisonRow, member: ComparisonMember) -> ModelSpec:
    return ModelSpec.from_dict(comparison.settings["models"][member.position])


def _generated(store: Store, runner_catalog: Catalog, session_id: str) -> bool:
    """Whether every task (the warm-up too) has a whole answer or a rating (Runner's rule)."""
    states = store.task_states(session_id)
    return all(
        (s := states.get(t.key)) is not None and (s.status == "ok" or s.score is not None)
        for t in runner_catalog.all_tasks())


def run_comparison(store: Store, comparison_id: str, *, on_event: Callable[[Event], None],
                   max_tokens: int | None = None, rater: str | None = None,
                   origin: str = "run", backend_factory: BackendFactory = make_backend,
                   verbose: bool = False, stop: threading.Event | None = None) -> int:
    """Generate what the comparison's models have not answered yet, one model after the
    other; returns how many models failed (would not load). A stop (KeyboardInterrupt, or
    `stop` set: the app) ends it once the answer in progress is stored, as cancelled."""
    comparison = store.comparison(comparison_id)
    catalog = store.comparison_catalog(comparison)
    if max_tokens is None:
        max_tokens = comparison.settings.get("max_tokens")
    opening = Opening(store, origin, rater=rater, max_tokens=max_tokens,
                      backend_factory=backend_factory,
                      stopping=None if stop is None else stop.is_set)
    failed = 0
    count = len(comparison.members)
    for member in comparison.members:
        if stop is not None and stop.is_set():
            break
        spec = find_member_spec(comparison, member)
        options = replace(spec.options, seed=comparison.seed, verbose=verbose)
        if member.session_id and _generated(store, catalog, member.session_id):
            on_event(ModelDone(member.position, member.label, member.session_id, 0, 0,
                               already=True))
            continue
        start: SessionStart = (
            ResumeSession(member.session_id, options) if member.session_id
            else NewSession(options, catalog, (comparison.id, member.position)))
        on_event(ModelStarting(member.position, count, member.label,
                               resumed=member.session_id is not None))
        try:
            if member.session_id is None:
                _check_planned_file(comparison, member, options)
            opened = open_session(opening, start)
        except RbyfError as exc:
            failed += 1
            on_event(ModelFailed(member.position, member.label, str(exc)))
            continue
        try:
            made, errors = _generate(opened.runner, member.position, on_event, stop)
        finally:
            with contextlib.suppress(Exception):
                store.release_session(opened.runner.session_id)
            opened.backend.close()
        on_event(ModelDone(member.position, member.label, opened.runner.session_id, made,
                           errors))
    return failed


def _check_planned_file(comparison: ComparisonRow, member: ComparisonMember,
                        options: BackendOptions) -> None:
    """A model not started yet must still be the file the comparison was planned with."""
    planned = comparison.settings["models"][member.position].get("sha256")
    if not planned or options.backend != "llama" or not options.model:
        return
    path = model_files.check_gguf(Path(options.model))
    if model_files.sha256_of(path) != planned:
        raise ModelError(f"{path} is no longer the file comparison {comparison.id} was "
                         f"planned with (sha256 {planned[:12]}…): put that file back there")


def _generate(runner: Runner, position: int, on_event: Callable[[Event], None],
              stop: threading.Event | None = None) -> tuple[int, int]:
    tasks = runner.catalog.all_tasks()
    todo = {t.key for t in runner.pending_tasks()}
    made = errors = 0
    for index, task in enumerate(tasks, start=1):
        if task.key not in todo:
            continue
        if stop is not None and stop.is_set():
            break
        outcome = runner.run_task(task, stop)
        made += 1
        errors += outcome.status == "error"
        on_event(TaskDone(position, index, len(tasks), outcome))
    return made, errors


def member_description(member: ComparisonMember) -> str:
    """The model's name with its quantization and file size, as lists show it."""
    return model_label(member.model, member.quantization, member.size_bytes)


def model_label(name: str, quantization: str | None, size_bytes: int | None) -> str:
    """"name (Q8_0, 292 MB)": comparing quantizations of one model is the common case."""
    parts = [p for p in (quantization, file_size(size_bytes)) if p]
    return f"{name} ({', '.join(parts)})" if parts else name


def file_size(size_bytes: int | None) -> str | None:
    if not size_bytes:
        return None
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size_bytes >= scale:
            value = size_bytes / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size_bytes} B"

