"""Server load: requests/s and p50/p99 latency at 50 and 200 concurrent clients, 1 and 2 workers.

Builds a demo shop (``--users``, default 1,000) in a temporary folder, creates a platform
admin key, and for each worker count starts ``profileguard serve`` as its own process on
127.0.0.1. This process is the load generator: ``clients`` asyncio tasks, each with one
keep-alive HTTP/1.1 connection (a minimal client over asyncio streams, so that the load
generator, which shares the 2 cores with the server, spends little CPU per request), for
``--seconds`` per cell (bounded in time; a request still open 30 s after the cell ends
counts as an error). Three requests are measured:

* profile read — ``GET /api/users/{u}/profile?purpose=personalization`` (the staff read:
  purpose checked, decisions applied, one ledger entry committed before the answer);
* consent check — ``GET /api/users/{u}/consent?purpose=personalization``;
* recommendation — ``GET /api/users/{u}/recommendations`` (guarded; a ledger entry when
  personalized).

Two client models, both in the table:

* ``none`` (closed loop, zero think time): each client sends its next request as soon as
  the answer arrives. This saturates the server: throughput is its capacity and latency
  is mostly queueing (Little's law: latency ≈ clients / throughput);
* ``exp(Z)`` (closed loop with think time, as Locust or JMeter users have): after each
  answer a client waits an exponentially distributed time of mean Z before its next
  request. The offered load is clients / Z requests/s; the latency is service time plus
  the queueing that load causes.

Latency is measured client side (send to last byte of the body). Server CPU per request
is the CPU time of the server's process tree during the cell divided by the requests
answered; the load generator's own CPU is reported too. After each worker count the
ledger is checked: one ``profile.read`` entry per profile read answered 200, and the
chain verifies.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import json
import math
import os
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.csv as pcsv
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ResultTable
from profileguard.demo.generate import generate
from profileguard.demo.run import write_manifests
from profileguard.pipeline.ingest import ingest_workspace
from profileguard.pipeline.profiles import build_profiles
from profileguard.pipeline.services import open_services
from profileguard.server.keys import create_key
from profileguard.store import tables as t
from profileguard.store.ledger_verify import verify

AS_OF = dt.datetime(2026, 11, 1)
ENDPOINTS = {
    "profile read": "/api/users/{u}/profile?purpose=personalization",
    "consent check": "/api/users/{u}/consent?purpose=personalization",
    "recommendation": "/api/users/{u}/recommendations?n=10",
}
TARGET_MS = 50.0
DRAIN_S = 30.0
WARM_S = 60.0
START_S = 300.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


def build_shop(root: Path, users: int) -> tuple[Path, str, list[str], float]:
    """Generate, ingest and build the demo shop in ``root`` (reused when already built)."""
    t0 = time.perf_counter()
    manifest = root / "profileguard.yaml"
    if not manifest.exists():
        generate(root / "data", users=users, seed=7, as_of=AS_OF)
        write_manifests(root)
        with open_services(manifest) as svc:
            consents = pcsv.read_csv(root / "data" / "consents.csv", convert_options=pcsv.
                                     ConvertOptions(strings_can_be_null=True))
            svc.book.import_arrow(consents)
            ingest_workspace(svc, now=AS_OF)
            build_profiles(svc, AS_OF)
    with open_services(manifest) as svc:
        _k, key = create_key(svc.store, svc.ledger, "bench", "platform_admin", actor="bench")
        ids = [str(r[0]) for r in svc.engine.query_rows(
            "SELECT user_id FROM users ORDER BY user_id")]
    return manifest, key, ids, time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def workers_attached(server: int, warehouse: str) -> int:
    """Processes of the server's tree (itself included) holding ``warehouse`` open: with
    one worker, the server itself; with several, uvicorn's worker processes."""
    count = 0
    for pid in [server, *descendants(server)]:
        fds = Path(f"/proc/{pid}/fd")
        try:
            links = [os.readlink(fd) for fd in fds.iterdir()]
        except OSError:  # gone, or not ours to read
            continue
        count += warehouse in links
    return count


def start_server(manifest: Path, workers: int, log: Any, env: dict[str, str]
                 ) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    exe = Path(sys.executable).with_name("profileguard")
    proc = subprocess.Popen([str(exe), "serve", "--manifest", str(manifest), "--port",
                             str(port), "--workers", str(workers)],
                            stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, **env})
    deadline = time.monotonic() + START_S
    warehouse = str((manifest.parent / ".profileguard" / "warehouse.duckdb").resolve())
    while time.monotonic() < deadline:
        try:
            status, _ = asyncio.run(_get_once(port, "/api/health", ""))
            # the first worker up answers; the cells start once EVERY worker has attached
            # the warehouse (its app is made), or the first seconds would measure a server
            # with fewer workers and a warm-up that reached only some of them
            if status == 200 and workers_attached(proc.pid, warehouse) >= workers:
                time.sleep(1.0)  # from the app made to its socket listening
                return proc, port
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see its log")
    proc.terminate()
    proc.wait(timeout=60)
    raise RuntimeError(f"server did not come up within {START_S:g} s")


# -- CPU of the server's process tree ------------------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def descendants(root: int) -> list[int]:
    """The processes below ``root`` (uvicorn's workers and what they started)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                parents[int(entry)] = found[0]
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, parent in parents.items() if parent == pid]
        out += kids
        todo += kids
    return out


def tree_cpu(root: int) -> float:
    """CPU seconds of ``root`` and its descendants (uvicorn's master and its workers)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                stats[int(entry)] = found
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo += [p for p, (parent, _cpu) in stats.items() if parent == pid]
    return total


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the load generator ----------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection sending GETs with the API key."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        """One GET. Like any HTTP client, a GET on a kept-alive connection the server has
        closed meanwhile (uvicorn closes one idle for 5 s, which long think times reach) is
        sent again once on a new connection; the retry is part of its latency."""
        reused = self.writer is not None
        try:
            head = await self._send(path)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            self.close()
            head = await self._send(path)
        assert self.reader is not None
        found = _LENGTH.search(head)
        if found is None:
            raise ValueError(f"response without Content-Length: {head[:200]!r}")
        body = await self.reader.readexactly(int(found.group(1)))
        if b"\r\nconnection: close" in head.lower():
            self.close()
        return int(head[9:12]), body

    async def _send(self, path: str) -> bytes:
        """Send the request; the response's head."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.head)
        return await self.reader.readuntil(b"\r\n\r\n")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _get_once(port: int, path: str, key: str) -> tuple[int, bytes]:
    conn = Connection(port, key)
    try:
        return await conn.get(path)
    finally:
        conn.close()


@dataclass
class Cell:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    ok: int = 0
    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def load(port: int, key: str, path: str, users: list[str], clients: int,
               seconds: float, think_s: float, seed: int, limit: int | None = None) -> Cell:
    """``clients`` closed-loop clients for ``seconds``; think time exp(``think_s``) or none;
    at most ``limit`` requests when given."""
    cell = Cell()
    rng = random.Random(seed)
    stop = time.perf_counter() + seconds
    issued = [0]

    async def one(worker: int) -> None:
        conn = Connection(port, key)
        i = worker
        if think_s:  # spread the first requests over one think time
            await asyncio.sleep(rng.uniform(0, think_s))
        try:
            while time.perf_counter() < stop and (limit is None or issued[0] < limit):
                issued[0] += 1
                url = path.format(u=users[i % len(users)])
                i += clients
                t0 = time.perf_counter()
                try:
                    status, _body = await conn.get(url)
                    outcome = "" if status == 200 else str(status)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn.close()
                    outcome = type(exc).__name__
                cell.latencies.append(time.perf_counter() - t0)
                if outcome:
                    cell.error(outcome)
                else:
                    cell.ok += 1
                if think_s:  # a think time never runs past the end of the cell
                    await asyncio.sleep(min(rng.expovariate(1 / think_s),
                                            max(stop - time.perf_counter(), 0.0)))
        finally:
            conn.close()

    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(one(w)) for w in range(clients)]
    _done, pending = await asyncio.wait(tasks, timeout=seconds + DRAIN_S)
    for task in pending:
        task.cancel()
        cell.error("timeout")
    cell.elapsed = time.perf_counter() - t0
    return cell


def run_cell(server: int, port: int, key: str, path: str, users: list[str], clients: int,
             seconds: float, think_s: float, seed: int, limit: int | None = None) -> Cell:
    cpu0, own0 = tree_cpu(server), own_cpu()
    cell = asyncio.run(load(port, key, path, users, clients, seconds, think_s, seed, limit))
    cell.server_cpu, cell.client_cpu = tree_cpu(server) - cpu0, own_cpu() - own0
    return cell


def warm_passes(workers: int) -> int:
    """Warm-up passes after which a worker has missed a given user with chance < 5%
    (each pass lands a user on one worker of ``workers`` at random): 1 for 1 worker, 5
    for 2."""
    return 1 if workers == 1 else math.ceil(math.log(0.05) / math.log(1 - 1 / workers))


def cache_note(capacity: int | None) -> str:
    if capacity == 0:
        return ("profile cache off (--profile-cache 0): every profile read renders the "
                "person's tags from the warehouse (a --baseline source reads the same setting)")
    size = "server default" if capacity is None else f"{capacity} persons per worker"
    return (f"profile cache: {size}; the warm-up fills it, so profile reads are cache "
            "hits (with 2 workers, each has seen ~95% of the users; before 2026-11-29 20:28 "
            "the warm-up was one pass, so each had seen about half and the 2-worker cells "
            "rendered many profiles) — run with --profile-cache 0 for the uncached cost; "
            "a --baseline source has it if it has server/explained.py")


def uvicorn_impl() -> str:
    """What uvicorn's ``auto`` picks in this environment (the servers run in it too)."""
    found = [m for m in ("uvloop", "httptools") if importlib.util.find_spec(m) is not None]
    loop = "uvloop" if "uvloop" in found else "asyncio"
    http = "httptools" if "httptools" in found else "h11"
    return f"{loop} + {http}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def ledger_check(manifest: Path, since_seq: int) -> tuple[int, bool, int]:
    """(profile.read entries from the profile endpoint after ``since_seq``, chain ok, head)."""
    with open_services(manifest) as svc:
        with svc.store.read() as conn:
            rows = conn.execute(sa.select(t.ledger.c.payload).where(
                t.ledger.c.seq > since_seq, t.ledger.c.kind == "profile.read")).scalars().all()
        report = verify(svc.ledger)
    reads = sum(1 for p in rows if json.loads(p).get("endpoint") == "profile")
    return reads, report.ok, int(report.head_seq or 0)


def run_server(args: argparse.Namespace, table: ResultTable, label: str,
               env: dict[str, str], manifest: Path, key: str, users: list[str], workers: int,
               tmp: Path, seed: int, verdicts: list[str], ledger_notes: list[str]) -> int:
    """Every cell of one server (this tree or the baseline) with ``workers`` workers."""
    _n, _ok, head = ledger_check(manifest, 0)
    log_path = tmp / f"serve-{label.replace(' ', '-')}-{workers}.log"
    profile_ok = 0
    with log_path.open("w") as log:
        try:
            proc, port = start_server(manifest, workers, log, env)
        except RuntimeError as exc:  # one server that does not start must not lose the rest
            table.add("(all)", label, workers, "–", "–", "–", "–", "–", "–", "–", "–",
                      f"did not start: {exc}")
            return seed
        try:
            for name in args.requests:
                path = ENDPOINTS[name]
                # warm-up, bounded in time: every user once per pass; each pass opens new
                # connections, which the kernel hands to any worker, so after
                # warm_passes(workers) passes each worker has seen ~95% of the users
                warm_until = time.monotonic() + WARM_S
                for _pass in range(warm_passes(workers)):
                    left = warm_until - time.monotonic()
                    if left <= 0:
                        break
                    warm = run_cell(proc.pid, port, key, path, users, 10, left, 0.0, seed,
                                    limit=len(users))
                    if name == "profile read":
                        profile_ok += warm.ok
                for think in args.think:
                    for clients in args.clients:
                        seed += 1
                        cell = run_cell(proc.pid, port, key, path, users, clients,
                                        args.seconds, think, seed)
                        if name == "profile read":
                            profile_ok += cell.ok
                        served = len(cell.latencies) / cell.elapsed
                        n = max(len(cell.latencies), 1)
                        p99 = pct(cell.latencies, 0.99)
                        table.add(name, label, workers,
                                  f"exp({think:g} s)" if think else "none", clients,
                                  f"{clients / think:,.0f}" if think else "= served",
                                  round(served), f"{pct(cell.latencies, 0.5):.1f}",
                                  f"{p99:.1f}", f"{cell.server_cpu / n * 1000:.2f}",
                                  f"{cell.client_cpu / n * 1000:.2f}",
                                  ", ".join(f"{k}×{v}" for k, v in
                                            sorted(cell.errors.items())) or "0")
                        if name == "profile read" and clients == 200 and think:
                            verdicts.append(
                                f"{label}, {workers} worker(s), think exp({think:g} s): "
                                f"{'met' if p99 < TARGET_MS else 'NOT met'} "
                                f"(p99 {p99:.1f} ms at {served:,.0f} req/s served)")
                        elif name == "profile read" and clients == 200:
                            # zero think time: 200 requests always in flight, so by Little's
                            # law the mean latency IS 200 / throughput — a capacity figure
                            verdicts.append(
                                f"{label}, {workers} worker(s), think none: not a latency "
                                f"figure (closed loop, 200 requests always in flight: mean "
                                f"latency = 200 / {served:,.0f} req/s = "
                                f"{1000 * clients / max(served, 1e-9):.0f} ms by Little's "
                                f"law; p99 {p99:.1f} ms; below {TARGET_MS:g} ms it would take "
                                f"{1000 * clients / TARGET_MS:,.0f} req/s)")
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    if args.keep_log:
        Path(args.keep_log).write_text(log_path.read_text())
    reads, chain_ok, _head = ledger_check(manifest, head)
    ledger_notes.append(
        f"{label}, {workers} worker(s): {profile_ok:,} profile reads answered 200, "
        f"{reads:,} profile.read ledger entries written; chain "
        f"{'verifies' if chain_ok else 'DOES NOT verify'}")
    return seed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=5.0, help="per cell")
    ap.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--think", type=float, nargs="+", default=[0.0, 1.0],
                    help="mean think times in seconds (0: none, saturating)")
    ap.add_argument("--requests", nargs="+", default=list(ENDPOINTS), choices=list(ENDPOINTS),
                    metavar="REQUEST", help=f"of: {', '.join(ENDPOINTS)}")
    ap.add_argument("--profile-cache", type=int, default=None,
                    help="persons' explained tags each worker keeps (server default if unset)")
    ap.add_argument("--baseline", metavar="SRC",
                    help="also serve from this source folder (e.g. the previous commit's src/, "
                    "from `git archive HEAD src`), same cells, same run, for a before/after")
    ap.add_argument("--shop", help="build the shop in this folder, or reuse the one built "
                    "there before (default: a temporary folder)")
    ap.add_argument("--keep-log", help="copy the last server log here")
    ap.add_argument("--no-results", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    command = "python benchmarks/server.py " + " ".join(sys.argv[1:])
    table = ResultTable("server — API under load (loopback, separate processes)",
                        command.strip(), ["request", "server", "workers", "think", "clients",
                                          "offered req/s", "served req/s", "p50 (ms)",
                                          "p99 (ms)", "server CPU ms/req",
                                          "loadgen CPU ms/req", "errors"])
    env = {} if args.profile_cache is None else {
        "PROFILEGUARD_PROFILE_CACHE": str(args.profile_cache)}
    verdicts: list[str] = []
    ledger_notes: list[str] = []
    servers = [("this tree", env)]
    if args.baseline:
        src = Path(args.baseline).resolve()
        if not (src / "profileguard" / "server" / "app.py").exists():
            ap.error(f"--baseline {src}: no profileguard/server/app.py under it")
        servers.append(("baseline", {**env, "PYTHONPATH": str(src)}))
    seed = 0
    with tempfile.TemporaryDirectory(prefix="pg-bench-server-") as tmp:
        manifest, key, users, built = build_shop(Path(args.shop or Path(tmp) / "shop"),
                                                 args.users)
        for workers in args.workers:
            for label, server_env in servers:
                seed = run_server(args, table, label, server_env, manifest, key, users,
                                  workers, Path(tmp), seed, verdicts, ledger_notes)
    table.notes += [
        f"demo shop of {args.users:,} users generated, ingested and built in {built:.1f} s "
        f"(not part of the results); each cell runs {args.seconds:g} s; before the cells of "
        f"each request and worker count, a warm-up of 10 clients asks for every user once "
        f"per pass, {warm_passes(1)} pass with 1 worker and {warm_passes(2)} with 2 (new "
        f"connections each pass; at most {WARM_S:g} s in all); the warm-up starts once every "
        f"worker has attached the warehouse (before 2026-11-29 23:10 it started when the "
        f"first worker answered, so with 2 workers the second could miss most of it)",
        "think none = closed loop with zero think time: it saturates the server, offered "
        "load equals what is served, and latency ≈ clients / throughput is queueing; "
        "think exp(Z) = each client waits an exponential think time of mean Z after each "
        "answer, offered load = clients / Z",
        "load generator: this process (asyncio, a minimal keep-alive HTTP/1.1 client) on "
        "the same 2 cores as the server; CPU ms/req = CPU seconds of the server's process "
        "tree (or of the load generator) during the cell / requests answered",
        cache_note(args.profile_cache),
        f"uvicorn's event loop and HTTP parser (auto): {uvicorn_impl()}",
        *ledger_notes,
        f"target p99 < {TARGET_MS:g} ms at 200 clients for profile read: "
        + "; ".join(verdicts),
        "machine shared with other work (load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end)",
    ]
    table.emit(None if args.no_results else RESULTS)


if __name__ == "__main__":
    main()
