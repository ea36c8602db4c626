"""How a Memory's records get their embeddings when they are written without one (docs/memory.md): the
embedded model (wordllama's 256-dimension weights, shipped inside its wheel, on CPU, offline), or an
OpenAI-compatible `/embeddings` endpoint whose API key is read from a Secret at use time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from jangar.server.core.errors import Code, DomainError
from jangar.server.core.secrets import SecretReader, SecretUnavailable
from jangar.v1 import memory_pb2

EMBEDDED_DIMENSION = 256
MAX_DIMENSION = 2000  # pgvector's HNSW index limit for `vector`
ENDPOINT_TIMEOUT_SECONDS = 30.0
# Texts up to this many characters in all (a query's limit) are embedded on the event loop: under 1 ms.
INLINE_EMBED_CHARS = 10_000


def dimension_of(spec: memory_pb2.MemorySpec) -> int:
    return spec.embeddings.dimension or EMBEDDED_DIMENSION


class EmbeddedModel:
    """wordllama, loaded once per process on first use (about 1.5 s, 16 MB) and shared by every Memory."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import wordllama
                from wordllama import WordLlama

                # The wheel ships the tokenizer under `tokenizers/`, where only the cache lookup looks:
                # pointing the cache at the package keeps it from ever trying a download.
                package = Path(wordllama.__file__).parent
                self._model = WordLlama.load(dim=EMBEDDED_DIMENSION, cache_dir=package, disable_download=True)
            return self._model

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self._load().embed(list(texts), norm=True).tolist()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        # A query's text embeds in tens of microseconds, less than a worker thread's round trip; batches
        # (about 20,000 short texts a second) are CPU work for a worker thread, off the event loop.
        if self._model is not None and sum(len(t) for t in texts) <= INLINE_EMBED_CHARS:
            return self._embed(texts)
        return await asyncio.to_thread(self._embed, texts)


def _endpoint_failed(message: str) -> DomainError:
    return DomainError(Code.UNAVAILABLE, "EMBEDDING_ENDPOINT_FAILED", message)


class Embedder:
    """Computes embeddings for one Memory's spec."""

    def __init__(self, secrets: SecretReader, model: EmbeddedModel | None = None) -> None:
        self._secrets = secrets
        self._model = model or EmbeddedModel()

    async def embed(
        self, namespace: str, spec: memory_pb2.MemorySpec, texts: Sequence[str]
    ) -> list[list[float]]:
        if not texts:
            return []
        if not spec.embeddings.endpoint:
            return await self._model.embed(texts)
        return await self._endpoint(namespace, spec.embeddings, texts)

    async def _endpoint(
        self, namespace: str, embeddings: memory_pb2.MemoryEmbeddings, texts: Sequence[str]
    ) -> list[list[float]]:
        headers = {}
        ref = embeddings.api_key_secret_ref
        if ref.name:
            try:
                key = await self._secrets.read(namespace, ref.name, ref.key)
            except SecretUnavailable as error:
                raise DomainError(Code.UNAVAILABLE, "EMBEDDING_SECRET_UNAVAILABLE", str(error)) from None
            headers["Authorization"] = f"Bearer {key}"
        url = embeddings.endpoint.rstrip("/") + "/embeddings"
        body = {"model": embeddings.model, "input": list(texts)}
        timeout = aiohttp.ClientTimeout(total=ENDPOINT_TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(url, json=body, headers=headers) as response,
            ):
                if response.status != 200:
                    raise _endpoint_failed(f"the embedding endpoint answered HTTP {response.status}")
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise _endpoint_failed(
                "the embedding endpoint could not be reached or answered no JSON"
            ) from None
        try:
            data = sorted(answer["data"], key=lambda item: item["index"])
            vectors = [[float(v) for v in item["embedding"]] for item in data]
        except (KeyError, TypeError, ValueError):
            raise _endpoint_failed("the embedding endpoint's answer has no data[].embedding") from None
        if len(vectors) != len(texts) or any(len(v) != embeddings.dimension for v in vectors):
            raise _endpoint_failed(
                f"the embedding endpoint returned {len(vectors)} embeddings for {len(texts)} texts, or "
                f"not of the Memory's dimension {embeddings.dimension}"
            )
        return vectors
