"""Generation past one process: the load test through a pool of one, then two, local servers.

Starts `llama_cpp.server` processes on loopback (the model assembled from its packages, as
`coffre models` does; `interrupt_requests` off, else any request cuts a running stream
short), waits until each lists its model, runs `bench/load.py --pool-urls` against one of
them and then against two, and prints both result blocks and the scaling ratio (answers per
minute and generation tokens/s, two servers over one). The CPU threads are split between
the servers so that both runs use the same cores: on one machine the ratio shows what the
pool's routing costs or gains, not what a second GPU host would add.

    .venv/bin/python bench/pool_scaling.py --model smollm2-135m --users 50
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from rag import catalogue

ROOT = Path(__file__).resolve().parents[1]
FIGURES = {
    "answers per minute": re.compile(r"answers per minute: ([\d.]+)"),
    "generation tokens/s": re.compile(r"generation under load ([\d.]+)"),
}


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(model: Path, threads: int, context: int, stack: ExitStack) -> str:
    """One llama_cpp.server on a free port, stopped when `stack` closes; its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
               "--host", "127.0.0.1", "--port", str(port), "--n_threads", str(threads),
               "--n_ctx", str(context), "--interrupt_requests", "False"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack.callback(process.wait, 30)
    stack.callback(process.terminate)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"llama_cpp.server exited with {process.returncode}: {command}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"llama_cpp.server on {url} did not answer within 120 s")


def run_load(urls: list[str], model: str, users: int) -> str:
    """bench/load.py's result block for a pool of `urls`."""
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--users", str(users),
               "--model", model, "--pool-urls", ",".join(urls)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode:
        raise SystemExit(f"the load run failed:\n{result.stderr[-2000:]}")
    return result.stdout.strip()


def figures(block: str) -> dict[str, float]:
    """The figures the scaling ratio compares, read from a result block."""
    found = {name: pattern.search(block) for name, pattern in FIGURES.items()}
    return {name: float(match.group(1)) for name, match in found.items() if match}


def main() -> None:
    """Run one pool of one server and one of two, and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m", help="catalogue model name")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--context", type=int, default=2048)
    args = parser.parse_args()
    cores = os.cpu_count() or 2
    with tempfile.TemporaryDirectory() as tmp:
        gguf = catalogue.assemble(catalogue.find(args.model), Path(tmp))
        blocks = {}
        for count in (1, 2):
            with ExitStack() as stack:
                urls = [start_server(gguf, max(1, cores // count), args.context, stack)
                        for _ in range(count)]
                blocks[count] = run_load(urls, args.model, args.users)
    for count, block in blocks.items():
        print(f"== a pool of {count} server(s), {max(1, cores // count)} thread(s) each ==")
        print(block)
    one, two = figures(blocks[1]), figures(blocks[2])
    print("scaling, two servers over one: " + "; ".join(
        f"{name} {two[name] / one[name]:.2f}" for name in FIGURES if name in one and name in two))


if __name__ == "__main__":
    main()
