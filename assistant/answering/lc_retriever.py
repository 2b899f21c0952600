"""The hybrid retriever as a LangChain ``BaseRetriever``, so it composes with LCEL.

A thin adapter: each ``Passage`` becomes a ``Document`` whose ``page_content`` is the
verbatim passage and whose metadata carries source, offsets, edition and score. The
ranking itself lives in ``assistant.answering.retrieval``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from assistant.models import Passage


def passage_to_document(p: Passage) -> Document:
    meta = {k: v for k, v in asdict(p).items() if k not in ("text", "sentences")}
    meta["n_sentences"] = len(p.sentences)
    return Document(page_content=p.text, metadata=meta)


class PHTRetriever(BaseRetriever):
    """``retriever.invoke("how do I fix PHT?")`` -> top-k Documents, duplicates collapsed."""

    engine: Any
    k: int = 4

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [passage_to_document(p) for p in self.engine.search(query, k=self.k)]
