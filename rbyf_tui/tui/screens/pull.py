"""The pull dialog: a Hugging Face repo, one of its GGUF files, then the download with its
progress; escape stops it and the part downloaded stays for the next pull to resume."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from rbyf_tui import hub
from rbyf_tui.hub import HubFile, PullError

EXAMPLE = "Qwen/Qwen2.5-1.5B-Instruct-GGUF q4_k_m"
UPDATE_S = 0.25  # progress shown at most 4 times a second: the app runs over SSH


def file_option(file: HubFile) -> Option:
    facts = [f for f in (file.quantization, hub.format_size(file.size),
                         f"{len(file.shards)} files" if len(file.shards) > 1 else None) if f]
    return Option(Text.assemble(file.filename, ("  " + " · ".join(facts), "dim")))


def figures(done: int, total: int, rate: hub.TransferRate) -> str:
    """"41.3% · 104 MB of 253 MB · 12.5 MB/s · 00:11 left", as `rbyf pull` shows it."""
    parts = [f"{done * 100 / total:.1f}%"] if total else []
    parts.append(f"{hub.format_size(done) or '0 B'}"
                 + (f" of {hub.format_size(total)}" if total else ""))
    speed = rate.speed
    parts.append(f"{speed / 1e6:.1f} MB/s" if speed is not None else "-- MB/s")
    if total:
        parts.append(f"{hub.format_duration(rate.eta(done, total))} left")
    return " · ".join(parts)


class PullDialog(ModalScreen[Path | None]):
    """Dismissed with the local path of the file pulled, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "stop or close",
                tooltip="Stop the download (it resumes next time), or close"),
    ]
    DEFAULT_CSS = """
    PullDialog #pull-files { height: auto; max-height: 10; display: none; }
    PullDialog #pull-bar { display: none; margin-top: 1; }
    PullDialog #pull-bar Bar { width: 1fr; }
    PullDialog #pull-status { margin-top: 1; height: auto; }
    PullDialog #pull-status.-error { color: $text-error; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.stage = "ask"  # ask | list | pick | pull | ended
        self.files: list[HubFile] = []
        self.file: HubFile | None = None
        self.stop = threading.Event()
        self.rate = hub.TransferRate()  # fed and read on the download's thread only
        self._last = 0.0  # when progress was last shown (the download's thread)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Pull a GGUF model from the Hugging Face Hub", classes="title")
            yield Input(placeholder=f"REPO [file or quantization], e.g. {EXAMPLE}",
                        id="pull-repo")
            yield OptionList(id="pull-files")
            yield ProgressBar(show_eta=False, show_percentage=False, id="pull-bar")
            yield Static(id="pull-status", markup=False)
            yield Static("enter lists the repo's GGUF files · escape closes", id="pull-hint",
                         classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#pull-repo").focus()

    def on_unmount(self) -> None:
        self.stop.set()  # the app is closing: a download in flight ends at its next read

    def _say(self, text: str, hint: str | None = None, error: bool = False) -> None:
        status = self.query_one("#pull-status", Static)
        status.update(text)
        status.set_class(error, "-error")
        if hint is not None:
            self.query_one("#pull-hint", Static).update(hint)

    # --- the repo, then its files ---------------------------------------------------------

    @on(Input.Submitted, "#pull-repo")
    def _repo_given(self, event: Input.Submitted) -> None:
        event.stop()
        if self.stage not in ("ask", "ended") or not event.value.strip():
            return
        given, _, wanted = event.value.strip().partition(" ")
        try:
            repo, named = hub.parse_spec(given)  # ORG/NAME, hf:ORG/NAME/FILE.gguf, its URL
        except PullError as exc:
            self._say(str(exc), error=True)
            return
        self.stage = "list"
        self.query_one("#pull-files").display = False
        self._say(f"listing the GGUF files of {repo}…", "escape closes")
        self._list(repo, wanted.strip() or named)

    @work(thread=True, exclusive=True, group="pull-list", exit_on_error=False)
    def _list(self, repo: str, wanted: str | None) -> tuple[list[HubFile], HubFile | None,
                                                            str | None]:
        files = hub.list_gguf(repo)
        if wanted is None:
            return files, None, None
        try:
            return files, hub.choose(files, wanted), None
        except PullError:  # not one file: the list shows what there is
            return files, None, f"{wanted!r} is not one of {repo}'s files: pick one"

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if not event.worker.is_finished or event.state == WorkerState.CANCELLED:
            return
        if event.worker.group == "pull-list":
            self._listed(event.worker)
        elif event.worker.group == "pull-file":
            self._pulled(event.worker)

    def _listed(self, worker: Worker[tuple[list[HubFile], HubFile | None, str | None]]) -> None:
        if worker.state == WorkerState.ERROR:
            self.stage = "ask"
            self._say(_one_line(worker.error), "enter tries again · escape closes", error=True)
            return
        assert worker.result is not None
        files, chosen, problem = worker.result
        if chosen is not None:
            self._start(chosen)
            return
        if not files:
            self.stage = "ask"
            self._say("that repo has no GGUF model files: choose a repo whose name usually "
                      "ends in -GGUF", error=True)
            return
        self.files = files
        self.stage = "pick"
        picks = self.query_one("#pull-files", OptionList)
        picks.set_options(file_option(f) for f in files)
        picks.display = True
        picks.highlighted = 0
        picks.focus()
        self._say(problem or f"{len(files)} GGUF file{'s' * (len(files) != 1)}: which one?",
                  "enter pulls the file · escape closes", error=problem is not None)

    @on(OptionList.OptionSelected, "#pull-files")
    def _file_picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.stage == "pick":
            self._start(self.files[event.option_index])

    # --- the download ---------------------------------------------------------------------

    def _start(self, file: HubFile) -> None:
        self.stage = "pull"
        self.file = file
        self.stop.clear()
        self.rate = hub.TransferRate()
        self._last = 0.0
        self.query_one("#pull-files").display = False
        bar = self.query_one("#pull-bar", ProgressBar)
        bar.update(total=file.size, progress=0)
        bar.display = True
        self.query_one("#pull-repo", Input).disabled = True
        self._say(f"{file.filename}: starting…", "escape stops (the part downloaded stays)")
        self._pull(file)

    @work(thread=True, exclusive=True, group="pull-file", exit_on_error=False)
    def _pull(self, file: HubFile) -> Path:
        return hub.pull(file, progress=self._progress, stop=self.stop)

    def _progress(self, done: int, total: int) -> None:
        """On the download's thread: the figures, shown a few times a second."""
        now = time.monotonic()
        self.rate.update(done, now)
        if now - self._last < UPDATE_S and not (total and done >= total):
            return
        self._last = now
        line = figures(done, total, self.rate)
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile; stop is set
            self.app.call_from_thread(self._show_progress, done, total, line)

    def _show_progress(self, done: int, total: int, line: str) -> None:
        if self.stage != "pull" or self.file is None:
            return
        self.query_one("#pull-bar", ProgressBar).update(total=total or None, progress=done)
        stopping = " · stopping…" if self.stop.is_set() else ""
        self._say(f"{self.file.filename}\n{line}{stopping}")

    def _pulled(self, worker: Worker[Path]) -> None:
        self.stage = "ended"
        self.query_one("#pull-repo", Input).disabled = False
        if worker.state == WorkerState.SUCCESS:
            self.dismiss(worker.result)
            return
        self.query_one("#pull-bar").display = False
        if self.stop.is_set():
            self._say("stopped: the part downloaded is kept, and the same pull resumes it",
                      "enter pulls again · escape closes")
        else:
            self._say(_one_line(worker.error), "enter tries again · escape closes",
                      error=True)
        self.query_one("#pull-repo").focus()

    def action_stop(self) -> None:
        if self.stage == "pull":
            if not self.stop.is_set():
                self.stop.set()
                self._say(f"{self.file.filename if self.file else ''}\nstopping…")
            return
        self.dismiss(None)


def _one_line(error: BaseException | None) -> str:
    """A PullError says it in a line; anything else is named with its first line."""
    if isinstance(error, PullError):
        return str(error)
    text = str(error).strip().splitlines()[0] if error and str(error).strip() else ""
    return f"the pull failed: {type(error).__name__}{': ' + text if text else ''}"
