"""Fetch benchmark: a naive loop against the fetcher's cold and warm cycles, in one run.

    .venv/bin/python bench/fetch_bench.py [--feeds 1000] [--naive-sample 100] [--skip-naive]

Starts bench/feedserver.py in its own process, then measures three contenders, each in its
own child process (wall time, feeds/s, user+sys CPU and peak RSS from ``os.wait4``):

* naive: bench/naive_loop.py, ``requests.get`` + ``feedparser.parse`` one feed after another;
* cold:  ``aggregator fetch --json`` against an empty database;
* warm:  the same command again, same database; the server answers every feed with a 304.

Prints the figures side by side with the targets, and writes them to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from resource import struct_rusage
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
SPEEDUP_TARGET = 10.0
WARM_CPU_SHARE = 0.10
MEMORY_LIMIT_MB = 300.0
HOSTS_PER_SUBNET = 250
STDERR_TAIL = 15
EXAMPLES = 3


@dataclass
class Run:
    """One contender's child process, measured."""

    name: str
    feeds: int
    wall: float = 0.0
    user: float = 0.0
    system: float = 0.0
    rss_mb: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    server_requests: int = 0
    server_not_modified: int = 0
    problems: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return self.user + self.system

    @property
    def rate(self) -> float:
        return self.feeds / self.wall if self.wall > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.problems

    def figures(self) -> dict[str, Any]:
        return {
            "feeds": self.feeds,
            "wall_s": round(self.wall, 3),
            "feeds_per_s": round(self.rate, 2),
            "cpu_s": round(self.cpu, 3),
            "user_s": round(self.user, 3),
            "sys_s": round(self.system, 3),
            "peak_rss_mb": round(self.rss_mb, 1),
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "server_requests": self.server_requests,
            "server_not_modified": self.server_not_modified,
            "valid": self.ok,
            "problems": self.problems,
            "stderr_tail": self.stderr_tail() if self.exit_code != 0 else [],
        }

    def stderr_tail(self) -> list[str]:
        return self.stderr.rstrip().splitlines()[-STDERR_TAIL:]


@dataclass(frozen=True)
class Target:
    label: str
    verdict: str  # PASS, FAIL or SKIP
    detail: str


class BenchError(Exception):
    """The benchmark itself could not run (as opposed to a contender failing)."""


# --- running and measuring a child process ----------------------------------------------


def child_env() -> dict[str, str]:
    """The environment without AGGREGATOR_* settings or proxies, so that runs are comparable."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith("AGGREGATOR_") and not key.lower().endswith("_proxy")
    }


def maxrss_mb(usage: struct_rusage) -> float:
    """ru_maxrss is in KiB on Linux, in bytes on macOS."""
    return usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def measure(run: Run, cmd: list[str], cwd: Path, timeout: float) -> Run:
    """Run ``cmd`` to its end and record its wall time and rusage (threads and children too)."""
    out_path, err_path = cwd / f"{run.name}.stdout", cwd / f"{run.name}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=child_env()
            )
        except OSError as exc:
            run.problems.append(f"could not start {cmd[0]}: {exc}")
            return run
        status, usage = wait_with_deadline(proc, timeout, run)
        run.wall = time.perf_counter() - start
    proc.returncode = run.exit_code = os.waitstatus_to_exitcode(status)
    run.user, run.system, run.rss_mb = usage.ru_utime, usage.ru_stime, maxrss_mb(usage)
    run.stdout = out_path.read_text(errors="replace")
    run.stderr = err_path.read_text(errors="replace")
    if run.exit_code != 0:
        why = " (killed at the --timeout)" if run.timed_out else ""
        run.problems.append(f"exited with status {run.exit_code}{why}")
    return run


def wait_with_deadline(
    proc: subprocess.Popen[bytes], timeout: float, run: Run
) -> tuple[int, struct_rusage]:
    """os.wait4 the child, killing it (by pid, not via Popen) if it outlives ``timeout``."""

    def kill() -> None:
        run.timed_out = True
        os.kill(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    return status, usage


# --- the feed server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


@contextmanager
def feed_server(port: int, args: argparse.Namespace) -> Iterator[None]:
    cmd = [sys.executable, str(BENCH_DIR / "feedserver.py"), "--port", str(port)]
    cmd += ["--feeds", str(args.feeds), "--items", str(args.items), "--latency", str(args.latency)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("ready"):
            raise BenchError(f"the feed server did not start (exit status {proc.poll()})")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def server_stats(port: int) -> tuple[int, int]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/stats", timeout=10) as resp:
        data = json.load(resp)
    return int(data["requests"]), int(data["not_modified"])


def feed_url(index: int, port: int) -> str:
    """Each feed on its own loopback address, so a per-host limit does not serialise the run."""
    subnet, host = divmod(index, HOSTS_PER_SUBNET)
    return f"http://127.0.{subnet}.{host + 1}:{port}/feed/{index}.xml"


# --- the contenders ----------------------------------------------------------------------


def contender(run: Run, cmd: list[str], cwd: Path, port: int, timeout: float) -> Run:
    """Measure one contender and count what the server saw meanwhile."""
    requests_before, not_modified_before = server_stats(port)
    measure(run, cmd, cwd, timeout)
    requests_after, not_modified_after = server_stats(port)
    run.server_requests = requests_after - requests_before
    run.server_not_modified = not_modified_after - not_modified_before
    return run


def run_naive(urls: list[str], work: Path, port: int, args: argparse.Namespace) -> Run:
    sample = urls[: args.naive_sample] if args.naive_sample else urls
    url_file = work / "urls.txt"
    url_file.write_text("".join(url + "\n" for url in sample))
    cmd = [sys.executable, str(BENCH_DIR / "naive_loop.py"), str(url_file)]
    run = contender(Run("naive", len(sample)), cmd, work, port, args.timeout)
    if run.exit_code == 0:
        check_naive(run, len(sample) * args.items)
    return run


def check_naive(run: Run, entries: int) -> None:
    try:
        result = json.loads(run.stdout)
        got = (int(result["feeds"]), int(result["entries"]))
    except (ValueError, KeyError, TypeError) as exc:
        run.problems.append(f"stdout is not the expected JSON line ({exc})")
        return
    if got != (run.feeds, entries):
        run.problems.append(f"parsed {got[0]} feeds, {got[1]} entries; expected {entries}")


def write_config(path: Path, urls: list[str], concurrency: int) -> None:
    lines = [
        "settings:",
        "  contact: https://example.invalid/bench",
        "  fetch:",
        "    allow_private_addresses: true",
        f"    concurrency: {concurrency}",
        "sources:",
    ]
    lines += [f'  - {{name: "Feed {i}", url: "{url}"}}' for i, url in enumerate(urls)]
    path.write_text("\n".join(lines) + "\n")


def fetch_command(args: argparse.Namespace, work: Path) -> list[str]:
    config, db = work / "sources.yaml", f"sqlite:///{work / 'bench.db'}"
    return [args.aggregator, "fetch", "--config", str(config), "--db", db, "--json"]


def run_fetch(name: str, urls: list[str], work: Path, port: int, args: argparse.Namespace) -> Run:
    run = contender(Run(name, len(urls)), fetch_command(args, work), work, port, args.timeout)
    if run.exit_code == 0:
        warm = name == "warm"
        status, new_entries = ("not_modified", 0) if warm else ("ok", len(urls) * args.items)
        check_fetch(run, status, new_entries)
        check_server(run, warm)
    return run


def check_fetch(run: Run, status: str, new_entries: int) -> None:
    try:
        sources = list(json.loads(run.stdout)["sources"])
        total = sum(int(source.get("new_entries") or 0) for source in sources)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        run.problems.append(f"stdout is not the expected JSON object ({exc})")
        return
    wrong = [source for source in sources if source.get("status") != status]
    if len(sources) != run.feeds:
        run.problems.append(f"{len(sources)} sources reported, expected {run.feeds}")
    if wrong:
        seen = Counter(str(source.get("status")) for source in wrong)
        breakdown = ", ".join(f"{count} {name}" for name, count in seen.most_common())
        run.problems.append(f"{len(wrong)} sources not {status!r} ({breakdown})")
        run.examples = [describe_source(source) for source in wrong[:EXAMPLES]]
    if total != new_entries:
        run.problems.append(f"{total} new entries in all, expected {new_entries}")


def describe_source(source: dict[str, Any]) -> str:
    error = f": {source.get('error')}" if source.get("error") else ""
    return f"{source.get('name')} <{source.get('url')}> {source.get('status')}{error}"


def check_server(run: Run, warm: bool) -> None:
    """The server's own counts, so that a skipped fetch cannot pass for a fast one."""
    if run.server_requests < run.feeds:
        run.problems.append(f"the server saw {run.server_requests} requests for {run.feeds} feeds")
    if warm and run.server_not_modified < run.feeds:
        run.problems.append(f"the server sent {run.server_not_modified} 304s for {run.feeds} feeds")


# --- targets and report ------------------------------------------------------------------


def invalid(*runs: Run) -> str:
    return ", ".join(run.name for run in runs if not run.ok)


def speedup_target(naive: Run | None, cold: Run) -> Target:
    label = f"cold throughput >= {SPEEDUP_TARGET:g}x naive"
    if naive is None:
        return Target(label, "SKIP", "naive not run (--skip-naive)")
    if bad := invalid(naive, cold):
        return Target(label, "FAIL", f"invalid run: {bad}")
    ratio = cold.rate / naive.rate if naive.rate else 0.0
    detail = f"{cold.rate:.1f} vs {naive.rate:.2f} feeds/s = {ratio:.1f}x"
    return Target(label, verdict(ratio >= SPEEDUP_TARGET), detail)


def warm_cpu_target(cold: Run, warm: Run) -> Target:
    label = f"warm CPU <= {WARM_CPU_SHARE:.0%} of cold CPU"
    if bad := invalid(cold, warm):
        return Target(label, "FAIL", f"invalid run: {bad}")
    share = warm.cpu / cold.cpu if cold.cpu else float("inf")
    detail = f"{warm.cpu:.2f} s vs {cold.cpu:.2f} s = {share:.1%}"
    return Target(label, verdict(share <= WARM_CPU_SHARE), detail)


def memory_target(cold: Run, warm: Run) -> Target:
    label = f"fetcher peak RSS < {MEMORY_LIMIT_MB:g} MB"
    if bad := invalid(cold, warm):
        return Target(label, "FAIL", f"invalid run: {bad}")
    peak = max(cold.rss_mb, warm.rss_mb)
    return Target(label, verdict(peak < MEMORY_LIMIT_MB), f"{peak:.1f} MB (cold and warm)")


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


ROWS: tuple[tuple[str, str], ...] = (
    ("feeds", "{0.feeds}"),
    ("wall s", "{0.wall:.2f}"),
    ("feeds/s", "{0.rate:.2f}"),
    ("CPU s (user+sys)", "{0.cpu:.2f}"),
    ("peak RSS MB", "{0.rss_mb:.1f}"),
    ("server requests", "{0.server_requests}"),
    ("server 304s", "{0.server_not_modified}"),
    ("exit status", "{0.exit_code}"),
)


def table(runs: list[tuple[str, Run | None]]) -> list[str]:
    lines = [f"{'':<18}" + "".join(f"{title:>12}" for title, _ in runs)]
    for label, template in ROWS:
        cells = [template.format(run) if run else "not run" for _, run in runs]
        lines.append(f"{label:<18}" + "".join(f"{cell:>12}" for cell in cells))
    return lines


def sample_note(naive: Run | None, feeds: int) -> list[str]:
    if naive is None or naive.feeds == feeds:
        return []
    estimate = feeds / naive.rate if naive.rate else float("nan")
    return [
        f"* naive was run on the first {naive.feeds} of {feeds} feeds only (--naive-sample);",
        f"  its feeds/s is extrapolated to all {feeds} feeds: estimated wall {estimate:.1f} s.",
    ]


def run_details(run: Run) -> list[str]:
    if run.ok:
        return [f"  ok    {run.name}"]
    lines = [f"  FAIL  {run.name}: {problem}" for problem in run.problems]
    lines += [f"          e.g. {example}" for example in run.examples]
    if run.exit_code not in (0, None) and run.stderr.strip():
        lines.append(f"        last lines of {run.name}'s stderr:")
        lines += [f"          | {line}" for line in run.stderr_tail()]
    return lines


def report(args: argparse.Namespace, runs: dict[str, Run | None], targets: list[Target]) -> str:
    naive = runs["naive"]
    title = "naive*" if naive and naive.feeds != args.feeds else "naive"
    lines = [
        f"Fetch benchmark: {args.feeds} feeds x {args.items} items, "
        f"{args.latency * 1000:g} ms latency, fetcher concurrency {args.concurrency}",
        "",
        *table([(title, naive), ("cold", runs["cold"]), ("warm", runs["warm"])]),
        *sample_note(naive, args.feeds),
        "",
        "Checks:",
    ]
    for run in runs.values():
        lines += run_details(run) if run else ["  SKIP  naive: not run (--skip-naive)"]
    lines += ["", "Targets:"]
    lines += [f"  {target.verdict:<5} {target.label}: {target.detail}" for target in targets]
    return "\n".join(lines)


def results_json(
    args: argparse.Namespace, runs: dict[str, Run | None], targets: list[Target], stamp: str
) -> dict[str, Any]:
    naive = runs["naive"]
    sampled = naive is not None and naive.feeds != args.feeds
    return {
        "timestamp": stamp,
        "params": {key: value for key, value in vars(args).items() if key != "aggregator"},
        "host": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "naive_sampled": sampled,
        "naive_extrapolated_wall_s": (
            round(args.feeds / naive.rate, 1) if sampled and naive and naive.rate else None
        ),
        "runs": {name: run.figures() if run else None for name, run in runs.items()},
        "targets": [vars(target) for target in targets],
        "passed": all(target.verdict == "PASS" for target in targets),
    }


def write_results(data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"fetch-{data['timestamp']}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_aggregator = str(Path(sys.executable).parent / "aggregator")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=75)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per response")
    parser.add_argument("--concurrency", type=int, default=32, help="the fetcher's concurrency")
    parser.add_argument("--skip-naive", action="store_true", help="do not run the naive loop")
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=0,
        metavar="K",
        help="run the naive loop on the first K feeds and extrapolate (default 0: all)",
    )
    parser.add_argument("--aggregator", default=default_aggregator, help="the aggregator command")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per contender")
    args = parser.parse_args(argv)
    if not 1 <= args.feeds <= 256 * HOSTS_PER_SUBNET:
        parser.error(f"--feeds must be between 1 and {256 * HOSTS_PER_SUBNET}")
    if args.naive_sample < 0 or args.naive_sample > args.feeds:
        parser.error("--naive-sample must be between 0 and --feeds")
    return args


def run_all(args: argparse.Namespace, work: Path) -> tuple[Run | None, Run, Run]:
    port = free_port()
    urls = [feed_url(i, port) for i in range(args.feeds)]
    write_config(work / "sources.yaml", urls, args.concurrency)
    with feed_server(port, args):
        naive = None if args.skip_naive else run_naive(urls, work, port, args)
        cold = run_fetch("cold", urls, work, port, args)
        warm = run_fetch("warm", urls, work, port, args)
    return naive, cold, warm


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        with tempfile.TemporaryDirectory(prefix="fetch-bench-") as tmp:
            naive, cold, warm = run_all(args, Path(tmp))
    except (BenchError, OSError) as exc:
        sys.stderr.write(f"fetch_bench: {exc}\n")
        return 2
    runs: dict[str, Run | None] = {"naive": naive, "cold": cold, "warm": warm}
    targets = [speedup_target(naive, cold), warm_cpu_target(cold, warm), memory_target(cold, warm)]
    path = write_results(results_json(args, runs, targets, stamp))
    print(report(args, runs, targets))
    print(f"\nFigures written to {path}")
    return 0 if all(target.verdict != "FAIL" for target in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
