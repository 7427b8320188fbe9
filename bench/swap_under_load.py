"""A champion swap under mixed load (issue 6 §6): zero errors, latency before/during/after.

Run: ``python bench/swap_under_load.py [--projects 600] [--seconds 60] [--workers 2]``.

Builds a data directory (simulated portfolio, version 1 of every target trained, registered
and champion, a second version registered as challenger, stored scores computed as an import
does), starts ``pmo-risk serve --workers N`` (each worker polls the champion alias every
``--poll`` seconds) and, from a separate process, sends mixed traffic for ``--seconds``:
rankings (``GET /v1/portfolio/risks``), project pages (``GET /v1/projects/{id}``) and scoring
calls (``POST /v1/score``, one project with 24 reports), 8 connections with keep-alive. At a
third of the run it promotes version 2 of every target (``pmo-risk promote``'s code); the
swap is over when the ranking is read from scores of version 2 (every worker swapped and the
background rescoring stored). Prints one JSON object (also written to
``bench/results/swap_under_load.json``): requests, errors and p50/p99 (client and server
time) before, during and after the swap, per kind of request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serving_speed import (  # noqa: E402
    _free_port,
    _wait_http,
    build_home,
    payloads,
    read_response,
    shim_bin,
    start_ours,
    stop,
)

CONCURRENCY = 8
MIX = (("ranking", 0.4), ("project", 0.3), ("score", 0.3))

Sample = tuple[float, str, float, float | None, int]
"""(start, kind, client ms, server ms, status)"""


def _raw(method: str, path: str, port: int, key: str, body: bytes = b"") -> bytes:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nConnection: keep-alive\r\n"
    )
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _client(
    port: int, requests: dict[str, list[bytes]], seed: int, until: float, out: list[Sample]
) -> None:
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while time.time() < until:
        kind = rng.choices(kinds, weights)[0]
        raw = rng.choice(requests[kind])
        t0 = time.time()
        p0 = time.perf_counter()
        try:
            writer.write(raw)
            await writer.drain()
            status, server_ms = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            status = 0  # connection failure: an error; reconnect
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        out.append((t0, kind, (time.perf_counter() - p0) * 1000.0, server_ms, status))
    writer.close()


def _load(port: int, requests: dict[str, list[bytes]], until: float, queue: Any) -> None:
    async def main() -> list[Sample]:
        out: list[Sample] = []
        await asyncio.gather(
            *(_client(port, requests, seed, until, out) for seed in range(CONCURRENCY))
        )
        return out

    queue.put(asyncio.run(main()))


def _stats(samples: list[Sample]) -> dict[str, Any]:
    client = [s[2] for s in samples]
    server = [s[3] for s in samples if s[3] is not None]
    out: dict[str, Any] = {
        "requests": len(samples),
        "errors": sum(1 for s in samples if s[4] != 200),
    }
    if client:
        out["client_p50_ms"] = round(float(np.percentile(client, 50)), 2)
        out["client_p99_ms"] = round(float(np.percentile(client, 99)), 2)
    if server:
        out["server_p50_ms"] = round(float(np.percentile(server, 50)), 2)
        out["server_p99_ms"] = round(float(np.percentile(server, 99)), 2)
    return out


def _phase(samples: list[Sample]) -> dict[str, Any]:
    out = _stats(samples)
    out["by_kind"] = {k: _stats([s for s in samples if s[1] == k]) for k, _ in MIX}
    return out


def _ranking_versions(port: int, key: str) -> dict[str, str]:
    import httpx

    r = httpx.get(
        f"http://127.0.0.1:{port}/v1/portfolio/risks",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    return dict(r.json()["model_versions"]) if r.status_code == 200 else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--poll", type=float, default=2.0, help="champion polling, seconds")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "swap_under_load.json")
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

    with tempfile.TemporaryDirectory(prefix="pmo-risk-swap-") as tmp:
        home = Path(tmp) / "home"
        print("building the data directory (two versions of every target)...", flush=True)
        built = build_home(home, args.projects)
        settings = built["settings"]
        from model_registry.registry import ModelRegistry
        from risk_model.keys import KeyRing
        from risk_model.portfolio import refresh_scores
        from risk_model.score_store import ScoreStore
        from risk_model.store import Store
        from training.train import log_and_register, train_portfolio

        store = Store(settings.store_url)
        registry = ModelRegistry.from_settings(settings)
        second = settings.model_copy(update={"n_estimators": settings.n_estimators + 50})
        fits = train_portfolio(built["projects"], built["snapshots"], second)
        log_and_register(fits, registry, promote=False)
        new_versions = {m.target: m.version for m in registry.list_models() if m.version != "1"}
        champions = {t: registry.load(t).version for t in new_versions}
        scores = ScoreStore(store).init()
        refresh_scores(store, scores, {t: registry.load(t) for t in new_versions}, settings)
        _, key = KeyRing(store).create("analyst", "swap bench")
        store.dispose()

        one, _ = payloads(built["projects"], built["snapshots"], 1)
        active = built["projects"].loc[built["projects"]["status"].fillna("active") == "active"]
        ids = list(active["project_id"].astype(str))[:200]
        port = _free_port()
        requests = {
            "ranking": [
                _raw("GET", f"/v1/portfolio/risks?target={t}&limit=50", port, key)
                for t in new_versions
            ],
            "project": [_raw("GET", f"/v1/projects/{pid}", port, key) for pid in ids],
            "score": [_raw("POST", "/v1/score", port, key, one)],
        }
        env = {
            **os.environ,
            "PATH": f"{shim_bin(Path(tmp) / 'bin')}{os.pathsep}{os.environ.get('PATH', '')}",
            "PMO_RISK_HOME": str(home),
            "PMO_RISK_MODEL_POLL_SECONDS": str(args.poll),
            "PMO_RISK_LOG_JSON": "false",
        }
        print(f"serving with {args.workers} workers; {args.seconds:g} s of mixed load", flush=True)
        server = start_ours(env, port, args.workers)
        try:
            _wait_http(port, "/ready")
            time.sleep(3.0)  # every worker up
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            start = time.time() + 1.0
            until = start + args.seconds
            load = ctx.Process(target=_load, args=(port, requests, until, queue))
            load.start()
            time.sleep(max(0.0, start + args.seconds / 3 - time.time()))
            swap_at = time.time()
            for target, version in new_versions.items():
                registry.promote(target, version)
            print(f"promoted {new_versions} (was {champions})", flush=True)
            done_at = None
            while time.time() < until:
                if _ranking_versions(port, key) == new_versions:
                    done_at = time.time()
                    break
                time.sleep(0.25)
            samples = queue.get()
            load.join()
        finally:
            stop(server)

    samples = [s for s in samples if s[0] >= start]
    end = done_at or until
    before = [s for s in samples if s[0] < swap_at]
    during = [s for s in samples if swap_at <= s[0] <= end]
    after = [s for s in samples if s[0] > end]
    errors = sum(1 for s in samples if s[4] != 200)
    result = {
        "seconds": args.seconds,
        "workers": args.workers,
        "poll_seconds": args.poll,
        "concurrency": CONCURRENCY,
        "mix": dict(MIX),
        "swap": {
            "from": champions,
            "to": new_versions,
            "promoted_at_s": round(swap_at - start, 2),
            "served_by_new_scores_at_s": round(done_at - start, 2) if done_at else None,
            "swap_seconds": round(done_at - swap_at, 2) if done_at else None,
        },
        "total": _stats(samples),
        "before": _phase(before),
        "during": _phase(during),
        "after": _phase(after),
        "errors": errors,
        "errors_required": 0,
        "ok": bool(errors == 0 and done_at is not None and samples),
    }
    text = json.dumps(result)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
