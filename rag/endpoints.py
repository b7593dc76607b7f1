"""What a generation endpoint is: its server kind, its address and key, and the model's
vocabulary read locally (GGUF, vocabulary only) to count tokens and render continuations.

`rag.remote.RemoteGenerator` speaks to an endpoint; these values describe it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import GenerationError

if TYPE_CHECKING:
    from llama_cpp import Llama


class ServerKind(StrEnum):
    """Which server an endpoint runs: how it continues a reply and counts tokens."""

    LLAMA_CPP = "llama-cpp"  # llama.cpp's llama-server
    LLAMA_CPP_PYTHON = "llama-cpp-python"  # python -m llama_cpp.server
    VLLM = "vllm"
    OPENAI = "openai"  # any other OpenAI-compatible server


# Where each kind counts tokens: route, the request body's text field, extra fields.
TOKENIZE: dict[ServerKind, tuple[str, str, dict[str, Any]]] = {
    ServerKind.LLAMA_CPP: ("/tokenize", "content", {"add_special": False}),
    ServerKind.LLAMA_CPP_PYTHON: ("/extras/tokenize", "input", {}),
    ServerKind.VLLM: ("/tokenize", "prompt", {"add_special_tokens": False}),
}


@dataclass(frozen=True)
class EndpointConfig:
    """One endpoint: base URL (without /v1), kind, answers at once, model name sent (None:
    the first it lists), bearer key, and the longest wait for each piece of its reply."""

    url: str
    kind: ServerKind = ServerKind.LLAMA_CPP
    capacity: int = 1
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 120.0

    @property
    def base(self) -> str:
        """The URL without a trailing slash or /v1 (llama-server's /tokenize is at the root)."""
        url = self.url.rstrip("/")
        return url.removesuffix("/v1")


class LocalVocabulary:
    """The model's GGUF file loaded vocabulary-only (no weights): token counts and the chat
    template of the model the servers run, loaded on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._llm: Llama | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The GGUF file name."""
        return self.path.name

    def load(self) -> Llama:
        """The vocabulary, loaded once."""
        with self._lock:
            if self._llm is None:
                from llama_cpp import Llama

                try:
                    self._llm = Llama(model_path=str(self.path), vocab_only=True, verbose=False)
                except (ValueError, RuntimeError) as exc:
                    raise GenerationError(f"cannot read the vocabulary of {self.path}: {exc} "
                                          "(COFFRE_LLM_MODEL)") from exc
            return self._llm

    def count_tokens(self, text: str) -> int:
        """Tokens as the in-process model counts them."""
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    @property
    def trained_context(self) -> int | None:
        """The context the model was trained for, when its file says."""
        metadata = self.load().metadata
        value = metadata.get(f"{metadata.get('general.architecture', 'llama')}.context_length")
        return int(value) if value else None

    def continuation(self, messages: list[dict[str, str]]) -> tuple[str, list[str]]:
        """The prompt that continues the reply in the last message, and its stop strings."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self.load()
        template = llm.metadata.get("tokenizer.chat_template")
        if template is None:
            raise GenerationError(f"{self.path.name} has no chat template: an answer cannot "
                                  "be continued; use a GGUF file with tokenizer.chat_template")
        bos, eos = (llm._model.token_get_text(t) if t != -1 else ""
                    for t in (llm.token_bos(), llm.token_eos()))
        formatted = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)(
            messages=messages[:-1])  # type: ignore[arg-type]
        prompt = formatted.prompt
        if bos and prompt.startswith(bos) and llm._model.add_bos_token():
            prompt = prompt[len(bos):]  # the server puts it back when it tokenizes the prompt
        stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop]
        return prompt + messages[-1]["content"], [s for s in stop if s]
