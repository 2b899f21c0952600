"""Generative mode: an OpenAI-compatible chat model answering from retrieved passages.

``LLMAnswerer`` (answerer.py) is what ``assistant.service`` calls; ``build_chat_model`` and
``probe`` (chat_model.py) pick and check the server; ``budget.py`` counts tokens,
``context.py`` renders what the model sees, ``citations.py`` verifies what it wrote.
Importing this package does not import ``langchain_openai`` (that happens on first build).
"""

from assistant.llm.answerer import LLMAnswerer
from assistant.llm.budget import TokenCounter, load_counter, pack_passages
from assistant.llm.chat_model import build_chat_model, probe
from assistant.llm.citations import Verified
from assistant.llm.verify import Verifier, verify_citations

__all__ = [
    "LLMAnswerer",
    "TokenCounter",
    "Verified",
    "Verifier",
    "build_chat_model",
    "load_counter",
    "pack_passages",
    "probe",
    "verify_citations",
]
