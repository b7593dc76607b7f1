"""Generation on other machines: OpenAI-compatible chat completions servers, one or several.

`RemoteGenerator` is one endpoint (llama.cpp's llama-server, llama_cpp.server, vLLM, ...);
`endpoint_pool` puts several behind one `Generator` (rag/pool.py). A streamed reply must end
with a `finish_reason` ("stop", "length"): one that ends without is an answer cut short
(`AnswerCutShortError`), never taken for a whole answer. How a reply is continued (a last
message of role "assistant") depends on the server (`ServerKind`): llama-server continues a
final assistant message (its default `--prefill-assistant`), vLLM with
`continue_final_message`; llama_cpp.server closes that message and starts a new one, so for
it and unknown servers the continuation is a completion of the chat rendered with the model's
template (`LocalVocabulary`: the GGUF file read vocabulary-only, which also counts tokens
here; without one, the server counts them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from rag.endpoints import TOKENIZE, EndpointConfig, LocalVocabulary, ServerKind
from rag.errors import AnswerCutShortError, EndpointDownError, GenerationError
from rag.generation import GenerationConfig
from rag.pool import GeneratorPool, Member

if TYPE_CHECKING:
    pass


class RemoteGenerator:
    """One OpenAI-compatible endpoint, streamed over a shared `httpx.Client`."""

    def __init__(
        self, config: EndpointConfig, client: httpx.Client, *, context_size: int = 4096,
        vocabulary: LocalVocabulary | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.vocabulary = vocabulary
        self._context_size = context_size
        self._listed: str | None = None  # the first model the server lists
        self._reported: int | None = None  # the context the server reports

    @property
    def name(self) -> str:
        """The endpoint's base URL, as the audit trail records it."""
        return self.config.base

    @property
    def model_id(self) -> str:
        """The configured model name, else the GGUF file's (as in-process), else the one the
        server lists (known after a health check)."""
        if self.config.model:
            return self.config.model
        if self.vocabulary is not None:
            return self.vocabulary.model_id
        return self._listed or f"the model at {self.name}"

    @property
    def context_size(self) -> int:
        """The configured context, capped by the server's and the model's when known."""
        limits = [self._context_size, self._reported,
                  self.vocabulary.trained_context if self.vocabulary else None]
        return min(v for v in limits if v)

    @property
    def capacity(self) -> int:
        """Answers the endpoint takes at once (COFFRE_GENERATOR_CAPACITY)."""
        return self.config.capacity

    def count_tokens(self, text: str) -> int:
        """Tokens of `text`: by the local vocabulary, else by the server's tokenizer."""
        if self.vocabulary is not None:
            return self.vocabulary.count_tokens(text)
        route = TOKENIZE.get(self.config.kind)
        if route is None:
            raise GenerationError(f"{self.name} is an {self.config.kind} endpoint, which "
                                  "counts no tokens; set COFFRE_LLM_MODEL to the GGUF file it "
                                  "runs (Coffre then counts them itself)")
        path, key, extra = route
        body = {key: text, **extra, **({"model": self._model()} if self._model() else {})}
        reply = self._call("POST", path, json=body)
        return int(reply.get("count", len(reply.get("tokens", []))))

    def probe(self) -> None:
        """Health check: the server lists its models (EndpointDownError when it does not);
        the first names the model, and its context when the server says (vLLM)."""
        wait_s = min(self.config.timeout_s, 10.0)
        try:
            listed = self._call("GET", "/v1/models", timeout=wait_s)
        except EndpointDownError:
            raise
        except GenerationError as exc:  # a 404: not an OpenAI-compatible server there
            raise EndpointDownError(self.name, f"/v1/models failed: {exc}") from exc
        first: dict[str, Any] = next(iter(listed.get("data") or []), {})
        self._listed = first.get("id") or self._listed
        self._reported = first.get("max_model_len") or self._reported
        if self.config.kind is ServerKind.LLAMA_CPP and self._reported is None:
            self._reported = self._slot_context(wait_s)

    def _slot_context(self, wait_s: float) -> int | None:
        """llama-server's context per slot, from /props (None when it does not say)."""
        try:
            props = self._call("GET", "/props", timeout=wait_s)
        except GenerationError:
            return None  # an older server: the configured context stands
        return (props.get("default_generation_settings") or {}).get("n_ctx")

    def stream(self, messages: list[dict[str, str]], config: GenerationConfig) -> Iterator[str]:
        """Stream the reply; closing the stream closes the connection, which stops the
        server generating. EndpointDownError when the endpoint cannot be reached,
        AnswerCutShortError when its stream ends without a finish_reason."""
        path, body = self._request(messages, config)
        finish: str | None = None
        try:
            with self.client.stream("POST", self.config.base + path, json=body,
                                    headers=self._headers(),
                                    timeout=self.config.timeout_s) as response:
                if response.status_code != 200:
                    self._refused(path, response.status_code,
                                  response.read().decode(errors="replace"))
                for text, reason in _events(response.iter_lines(), self.name):
                    finish = reason or finish
                    if text:
                        yield text
        except httpx.HTTPError as exc:
            raise EndpointDownError(self.name, _describe(exc)) from exc
        if finish is None:
            raise AnswerCutShortError(self.name, "its stream ended without a finish_reason")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    # Requests -----------------------------------------------------------------------------

    def _request(
        self, messages: list[dict[str, str]], config: GenerationConfig
    ) -> tuple[str, dict[str, Any]]:
        """The route and body that generate (or continue) the reply."""
        kind = self.config.kind
        body: dict[str, Any] = {"stream": True, "temperature": config.temperature,
                                "top_p": config.top_p, "seed": config.seed,
                                "max_tokens": config.max_tokens}
        if kind in (ServerKind.LLAMA_CPP, ServerKind.LLAMA_CPP_PYTHON):
            body["repeat_penalty"] = config.repeat_penalty
        elif kind is ServerKind.VLLM:
            body["repetition_penalty"] = config.repeat_penalty
        if self._model():
            body["model"] = self._model()
        if not messages or messages[-1]["role"] != "assistant":
            return "/v1/chat/completions", {**body, "messages": messages}
        # The reply so far counts against the answer's length, as in-process.
        body["max_tokens"] = max(1, config.max_tokens - self.count_tokens(messages[-1]["content"]))
        if kind is ServerKind.VLLM:
            body.update(continue_final_message=True, add_generation_prompt=False)
        if kind in (ServerKind.LLAMA_CPP, ServerKind.VLLM):
            return "/v1/chat/completions", {**body, "messages": messages}
        if self.vocabulary is None:
            raise GenerationError(f"continuing an answer on {self.name} ({kind}) needs the "
                                  "model's chat template: set COFFRE_LLM_MODEL to the GGUF "
                                  "file it runs")
        prompt, stop = self.vocabulary.continuation(messages)
        return "/v1/completions", {**body, "prompt": prompt, "stop": stop}

    def _model(self) -> str | None:
        return self.config.model or self._listed

    def _headers(self) -> dict[str, str]:
        key = self.config.api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        """One JSON request; EndpointDownError when it cannot be made or the server fails."""
        options.setdefault("timeout", self.config.timeout_s)
        try:
            response = self.client.request(method, self.config.base + path,
                                           headers=self._headers(), **options)
        except httpx.HTTPError as exc:
            raise EndpointDownError(self.name, _describe(exc)) from exc
        if response.status_code != 200:
            self._refused(path, response.status_code, response.text)
        try:
            reply = response.json()
        except ValueError as exc:
            raise EndpointDownError(self.name, f"{path} answered no JSON") from exc
        return reply if isinstance(reply, dict) else {}

    def _refused(self, path: str, status: int, text: str) -> None:
        """Raise for a status other than 200: a server error or a refused key takes the
        endpoint out; a request it rejects fails alone (another would reject it too)."""
        said = f"HTTP {status}: {' '.join(text.split())[:300]}"
        if status in (401, 403):
            raise EndpointDownError(self.name, f"{said}; check COFFRE_GENERATOR_API_KEY")
        if status == 429 or status >= 500:
            raise EndpointDownError(self.name, said)
        if status == 404:
            raise GenerationError(f"generation endpoint {self.name} has no {path} for this "
                                  f"request ({said}); check COFFRE_GENERATOR_KIND and "
                                  "COFFRE_GENERATOR_MODEL")
        raise GenerationError(f"generation endpoint {self.name} rejected the request ({said}); "
                              "a prompt over its context needs a smaller COFFRE_CONTEXT_SIZE")


def _events(lines: Iterator[str], name: str) -> Iterator[tuple[str, str | None]]:
    """(text, finish_reason) of each server-sent event, until `data: [DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # a comment (": ping"), an event name, the blank line between events
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            return
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise AnswerCutShortError(name, f"it sent an event that is not JSON: {data[:80]}") \
                from exc
        if chunk.get("error"):
            raise AnswerCutShortError(name, f"it reported an error: {chunk['error']}")
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta")
            text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
            yield text or "", choice.get("finish_reason")


def _describe(exc: httpx.HTTPError) -> str:
    """A short reason for a transport failure ("connection refused", "timed out")."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({type(exc).__name__})"
    return str(exc) or type(exc).__name__


def endpoint_pool(
    configs: Sequence[EndpointConfig], *, context_size: int, vocabulary: LocalVocabulary | None,
    wait_s: float, health_s: float, transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> GeneratorPool:
    """The endpoints behind one Generator, sharing one HTTP client (`transport`: a test's
    httpx.MockTransport); nothing is connected until the first request."""
    client = httpx.Client(transport=transport)
    members = []
    for config in configs:
        remote = RemoteGenerator(config, client, context_size=context_size,
                                 vocabulary=vocabulary)
        members.append(Member(remote.name, remote, config.capacity, remote.probe))
    return GeneratorPool(members, wait_s=wait_s, health_s=health_s, clock=clock)
