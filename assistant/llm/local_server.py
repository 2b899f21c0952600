"""Run llama.cpp's OpenAI-compatible server (the ``xllamacpp`` wheel) on loopback, in a child process.

``start_server(model, port=0, ...)`` launches ``python -c SERVE`` with ``OMP_WAIT_POLICY=PASSIVE``
(set before the library loads: with busy cores the default spinning drops generation to a
few tokens a second), binds 127.0.0.1 only, waits until ``GET /health`` answers 200 (503
while the model loads) and returns a ``LocalServer`` whose ``base_url`` ends with ``/v1``;
``stop()`` sends SIGTERM and waits (kill after a grace period). The server's own log goes
to ``log_path``. A child process keeps ~2 GB out of the caller and makes "stopped"
unambiguous. It does not fetch or verify the model (``local_model.py``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError, MissingDependencyError

MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct-q4_k_m"
SERVE = r"""
import signal, sys, threading
try:
    import xllamacpp as xlc
except ImportError:
    print("MISSING xllamacpp", flush=True)
    sys.exit(3)
model, port, n_ctx, threads, alias = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
p = xlc.CommonParams()
p.model.path = model
p.hostnames = ["127.0.0.1"]
p.port = port
p.n_ctx = n_ctx
p.n_parallel = 1
p.cpuparams.n_threads = threads
p.cpuparams_batch.n_threads = threads
p.model_alias = {alias}
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
server = xlc.Server(p)
print("READY", server.listening_address, flush=True)
stop.wait()
del server
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def health(root: str, timeout: float = 2.0) -> int | None:
    """HTTP status of ``GET {root}/health`` (200 ready, 503 loading), None when not listening."""
    try:
        with urllib.request.urlopen(root + "/health", timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return None


@dataclass
class LocalServer:
    process: subprocess.Popen[bytes]
    root: str  # http://127.0.0.1:PORT
    log_path: Path
    load_seconds: float = 0.0

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode or 0)

    def tokenize(self, text: str) -> int:
        """Token count of ``text`` by the server's own tokenizer (llama.cpp ``POST /tokenize``)."""
        request = urllib.request.Request(
            self.root + "/tokenize", data=json.dumps({"content": text}).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as r:
            return len(json.loads(r.read())["tokens"])


def start_server(
    model: Path,
    *,
    port: int = 0,
    n_ctx: int = 4096,
    threads: int = 2,
    python: str | None = None,
    log_path: Path | None = None,
    timeout: float = 300.0,
) -> LocalServer:
    """Start the server and wait until the model is loaded; errors name the fix."""
    if not Path(model).is_file():
        raise ConfigError(f"No model file at {model}.", "Run `pht llm prepare` (or make llm).")
    port = port or free_port()
    root = f"http://127.0.0.1:{port}"
    log_path = log_path or Path(model).with_name("llm-server.log")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    t0 = time.monotonic()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [python or sys.executable, "-c", SERVE, str(model), str(port), str(n_ctx), str(threads),
             MODEL_ALIAS],
            env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
    server = LocalServer(proc, root, log_path)
    while time.monotonic() - t0 < timeout:
        code = proc.poll()
        if code is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            if code == 3 or "MISSING xllamacpp" in tail:
                raise MissingDependencyError(
                    "The local LLM server needs the 'xllamacpp' package.",
                    'pip install -e ".[llm]"   (or: make llm)',
                )
            raise ConfigError(
                f"The local LLM server exited with code {code} while loading (log: {log_path}).",
                "Check the log; is the port free and the model file complete?",
            )
        if health(root) == 200:
            server.load_seconds = time.monotonic() - t0
            return server
        time.sleep(0.2)
    server.stop()
    raise ConfigError(
        f"The local LLM server did not load within {timeout:g} s (log: {log_path}).",
        "The machine may be busy; try again.",
    )
