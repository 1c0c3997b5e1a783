"""Start-up: `rbyf --help` against 0.3 s, the home screen interactive against 1.0 s.

Runs, alternated, `python -m rbyf_tui --help` (what the `rbyf` script runs: this
checkout's `rbyf_tui.cli:main`), a bare `python -c pass` (the interpreter's own floor),
and `rbyf` itself in a pseudo-terminal (80x24, a DB with a session in it, no model
loaded) timed from the spawn to the home screen drawn with its keys, which is when it
takes keys; each run is a fresh process. It prints medians, spread and the ratio to the
target. When
the target is missed (or with --importtime) it lists the slowest imports from
`python -X importtime`, to show which module to load lazily.

    python benchmarks/startup.py
    python benchmarks/startup.py --runs 2 --importtime
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HELP = [sys.executable, "-m", "rbyf_tui", "--help"]
BARE = [sys.executable, "-c", "pass"]


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = str(REPO) + os.pathsep + out.get("PYTHONPATH", "")
    return out


def wall(cmd: list[str]) -> float:
    """Seconds from spawning `cmd` to its exit; it must succeed."""
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, env=env(), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Target:
    name: str
    target_s: float | None  # None: a reference, not a target
    run_once: Callable[[], float]  # one measurement, in seconds


def home_interactive(home: Path) -> float:
    """Seconds from spawning `rbyf` in a terminal to its home screen with the footer keys
    drawn; then `q` must end it (the screen took the key)."""
    import pexpect

    started = time.perf_counter()
    child = pexpect.spawn(sys.executable, ["-m", "rbyf_tui"], cwd=str(REPO),
                          env={**env(), "RBYF_HOME": str(home), "TERM": "xterm-256color"},
                          dimensions=(24, 80), encoding="utf-8", codec_errors="replace")
    child.expect("new session", timeout=30)  # the footer: the last thing drawn
    took = time.perf_counter() - started
    child.send("q")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    if child.exitstatus != 0:
        raise RuntimeError(f"rbyf exited with {child.exitstatus}")
    return took


def targets(home: Path) -> list[Target]:
    """What this script measures, in the order of each round."""
    return [
        Target("python -c pass (interpreter floor)", None, lambda: wall(BARE)),
        Target("rbyf --help", 0.3, lambda: wall(HELP)),
        Target("rbyf: home screen interactive", 1.0, lambda: home_interactive(home)),
    ]


def seeded_home(folder: Path) -> Path:
    """An rbyf home whose DB holds a rated session, so the home screen has rows to list."""
    import tempfile

    home = Path(tempfile.mkdtemp(dir=folder))
    db = home / "rbyf.duckdb"
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))
    from fakes import ScriptedBackend
    from helpers import new_runner

    runner = new_runner(db, ScriptedBackend(["An answer."]))
    for task in runner.catalog.all_tasks()[:2]:
        runner.run_task(task)
    return home


def import_times(top: int) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, module) of the slowest imports of `rbyf --help`."""
    result = subprocess.run([sys.executable, "-X", "importtime", *HELP[1:]], cwd=REPO,
                            env=env(), capture_output=True, text=True, check=True)
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, cumulative, name = (part.strip() for part in line[12:].split("|"))
        rows.append((int(cumulative), int(own), name))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs of each")
    parser.add_argument("--importtime", action="store_true",
                        help="list the slowest imports even when the target is met")
    parser.add_argument("--top", type=int, default=12, help="imports to list")
    args = parser.parse_args(argv)

    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="rbyf-startup-"))
    try:
        measured = targets(seeded_home(folder))
        for target in measured:  # warm the file cache: the first start reads from disk
            target.run_once()
        times: dict[str, list[float]] = {t.name: [] for t in measured}
        for _ in range(args.runs):
            for target in measured:
                times[target.name].append(target.run_once())

        print(f"machine: {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; python "
              f"{sys.version.split()[0]}")
        print(f"median of {args.runs} runs each (alternated), after one warm-up run:\n")
        print(f"{'measurement':38} {'median ms':>10} {'min-max ms':>15} {'vs target':>15}")
        missed = False
        for target in measured:
            got = times[target.name]
            median = statistics.median(got)
            ratio = (f"{median / target.target_s:6.2f}x {target.target_s * 1000:.0f} ms"
                     if target.target_s else "")
            print(f"{target.name:38} {median * 1000:10.1f} {min(got) * 1000:7.1f}-"
                  f"{max(got) * 1000:<7.1f} {ratio:>15}")
            if target.target_s and median >= target.target_s:
                missed = True
                print(f"  MISSES its target of {target.target_s * 1000:.0f} ms")
        if missed or args.importtime:
            print(f"\nslowest imports of rbyf --help (python -X importtime, top {args.top}):")
            print(f"{'cumulative ms':>14} {'self ms':>8}  module")
            for cumulative, own, name in import_times(args.top):
                print(f"{cumulative / 1000:14.1f} {own / 1000:8.1f}  {name}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
