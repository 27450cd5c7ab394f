import typing
from typing import AbstractSet, Any, Callable, Iterable, Literal, Optional, Sequence, Union

__version__: str

class Error(Exception):
    code: str
    payloads: dict[str, str]
    byte_offset: Optional[int]
    http_status: Optional[int]
    retry_after: Optional[str]
    retry_after_ms: Optional[str]
    should_retry: Optional[bool]
    provider_error: Optional[str]
    def __init__(self, message: str, code: Optional[str] = ..., payloads: Optional[dict[str, str]] = ...) -> None: ...

class CancelledError(Error): ...
class InvalidArgumentError(Error, ValueError): ...
class DeadlineExceededError(Error, TimeoutError): ...
class NotFoundError(Error, LookupError): ...
class AlreadyExistsError(Error): ...
class PermissionDeniedError(Error, PermissionError): ...
class RateLimitError(Error): ...

ResourceExhaustedError = RateLimitError
class FailedPreconditionError(Error): ...
class AbortedError(Error): ...
class OutOfRangeError(Error, IndexError): ...
class UnimplementedError(Error, NotImplementedError): ...
class InternalError(Error): ...
class UnavailableError(Error, ConnectionError): ...
class DataLossError(Error): ...
class UnauthenticatedError(Error): ...

LengthUnit = Literal["code_points", "utf16", "bytes", "tokens"]
KeepSeparator = Union[bool, Literal["start", "end"]]

class Encoding:
    """A tiktoken-compatible encoding; get one with get_encoding."""
    @property
    def name(self) -> str: ...
    @property
    def n_vocab(self) -> int: ...
    @property
    def max_token_value(self) -> int: ...
    @property
    def eot_token(self) -> int: ...
    @property
    def special_tokens_set(self) -> set[str]: ...
    def encode_ordinary(self, text: str) -> list[int]: ...
    def encode(
        self,
        text: str,
        *,
        allowed_special: Union[Literal["all"], AbstractSet[str]] = ...,
        disallowed_special: Union[Literal["all"], typing.Collection[str]] = "all",
    ) -> list[int]: ...
    def encode_ordinary_batch(self, text: Iterable[str], *, num_threads: int = 8) -> list[list[int]]: ...
    def encode_batch(
        self,
        text: Iterable[str],
        *,
        num_threads: int = 8,
        allowed_special: Union[Literal["all"], AbstractSet[str]] = ...,
        disallowed_special: Union[Literal["all"], typing.Collection[str]] = "all",
    ) -> list[list[int]]: ...
    def count(self, text: str) -> int: ...
    def count_up_to(self, text: str, limit: int) -> int: ...
    def decode_bytes(self, tokens: Sequence[int]) -> bytes: ...
    def decode(self, tokens: Sequence[int], errors: str = "replace") -> str: ...
    def decode_batch(self, batch: Sequence[Sequence[int]], errors: str = "replace") -> list[str]: ...
    def decode_single_token_bytes(self, token: int) -> bytes: ...

EncodingLike = Optional[Union[str, Encoding]]

def get_encoding(
    encoding_name: str,
    *,
    cache_dir: Optional[str] = None,
    allow_download: bool = False,
    download_base_url: Optional[str] = None,
) -> Encoding: ...
def encoding_for_model(
    model_name: str,
    *,
    cache_dir: Optional[str] = None,
    allow_download: bool = False,
    download_base_url: Optional[str] = None,
) -> Encoding: ...
def encoding_name_for_model(model_name: str) -> str: ...
def load_encoding(encoding_name: str, path: str, *, verify_sha256: bool = True) -> Encoding: ...

class Chunk:
    """A piece of a document: text[start:end] == chunk.text (str indices)."""
    @property
    def text(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def byte_start(self) -> int: ...
    @property
    def byte_end(self) -> int: ...
    @property
    def metadata(self) -> Optional[dict[str, Any]]: ...

class RecursiveCharacterSplitter:
    def __init__(
        self,
        *,
        chunk_size: int = 1000,
        chunk_overlap: int = 200,
        separators: Optional[Sequence[str]] = None,
        keep_separator: KeepSeparator = True,
        is_separator_regex: bool = False,
        strip_whitespace: bool = True,
        length_unit: LengthUnit = "code_points",
        length_function: Optional[Callable[[str], int]] = None,
        hard_limit: bool = False,
        length: Optional[LengthUnit] = None,
        encoding: EncodingLike = None,
    ) -> None: ...
    @staticmethod
    def from_language(
        language: str,
        *,
        chunk_size: int = 1000,
        chunk_overlap: int = 200,
        keep_separator: KeepSeparator = True,
        strip_whitespace: bool = True,
        length_unit: LengthUnit = "code_points",
        length_function: Optional[Callable[[str], int]] = None,
        hard_limit: bool = False,
        length: Optional[LengthUnit] = None,
        encoding: EncodingLike = None,
    ) -> "RecursiveCharacterSplitter": ...
    @staticmethod
    def get_separators_for_language(language: str) -> list[str]: ...
    def split(self, text: str) -> list[Chunk]: ...
    def split_text(self, text: str) -> list[str]: ...
    @property
    def chunk_size(self) -> int: ...
    @property
    def chunk_overlap(self) -> int: ...
    @property
    def separators(self) -> list[str]: ...

class MarkdownSplitter:
    def __init__(
        self,
        *,
        chunk_size: int = 1000,
        chunk_overlap: int = 200,
        strip_whitespace: bool = True,
        length_unit: LengthUnit = "code_points",
        length_function: Optional[Callable[[str], int]] = None,
        hard_limit: bool = False,
        max_heading_level: int = 6,
        length: Optional[LengthUnit] = None,
        encoding: EncodingLike = None,
    ) -> None: ...
    def split(self, text: str) -> list[Chunk]: ...
    def split_text(self, text: str) -> list[str]: ...

class TokenSplitter:
    def __init__(
        self, *, encoding: Union[str, Encoding] = "cl100k_base", chunk_size: int = 512, chunk_overlap: int = 50
    ) -> None: ...
    def split(self, text: str) -> list[Chunk]: ...
    def split_text(self, text: str) -> list[str]: ...
    @property
    def chunk_size(self) -> int: ...
    @property
    def chunk_overlap(self) -> int: ...

class SentenceSplitter:
    def __init__(
        self, *, encoding: Union[str, Encoding] = "cl100k_base", chunk_size: int = 512, chunk_overlap: int = 50
    ) -> None: ...
    def split(self, text: str) -> list[Chunk]: ...
    def split_text(self, text: str) -> list[str]: ...
    @property
    def chunk_size(self) -> int: ...
    @property
    def chunk_overlap(self) -> int: ...

def json_loads(text: str) -> Any: ...
def json_dumps(
    value: Any, *, indent: int = -1, sort_keys: bool = False, ensure_ascii: bool = False, python_style: bool = False
) -> str: ...

# Model clients (docs/clients.md). Messages and tools are OpenAI-style dicts.
Message = dict[str, Any]

class ToolCall:
    id: str
    name: str
    arguments: str

class Usage:
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cached_input_tokens: int
    cache_creation_input_tokens: int
    reasoning_tokens: int

class ChatResponse:
    id: str
    model: str
    text: str
    message: dict[str, Any]
    tool_calls: list[ToolCall]
    finish_reason: str
    usage: Usage
    request_id: str
    attempts: int
    backoff: float
    served_by: str

class StreamEvent:
    kind: Literal["text", "tool_call", "usage", "done"]
    text: str
    tool_index: int
    tool_id: str
    tool_name: str
    arguments_delta: str
    usage: Usage

class ChatStream:
    def __iter__(self) -> "ChatStream": ...
    def __next__(self) -> StreamEvent: ...
    @property
    def response(self) -> ChatResponse: ...
    def close(self) -> None: ...
    def __enter__(self) -> "ChatStream": ...
    def __exit__(self, *args: Any) -> None: ...

class _ChatClient:
    def chat(self, messages: Sequence[Message], *, model: Optional[str] = ..., temperature: Optional[float] = ...,
             top_p: Optional[float] = ..., max_tokens: Optional[int] = ..., stop: Optional[Sequence[str]] = ...,
             seed: Optional[int] = ..., tools: Optional[Sequence[dict[str, Any]]] = ..., tool_choice: Any = ...,
             response_format: Optional[dict[str, Any]] = ..., extra: Optional[dict[str, Any]] = ...,
             timeout: Optional[float] = ..., idle_timeout: Optional[float] = ...,
             tags: Optional[dict[str, str]] = ...) -> ChatResponse: ...
    def stream(self, messages: Sequence[Message], *, model: Optional[str] = ..., temperature: Optional[float] = ...,
               top_p: Optional[float] = ..., max_tokens: Optional[int] = ..., stop: Optional[Sequence[str]] = ...,
               seed: Optional[int] = ..., tools: Optional[Sequence[dict[str, Any]]] = ..., tool_choice: Any = ...,
               response_format: Optional[dict[str, Any]] = ..., extra: Optional[dict[str, Any]] = ...,
               timeout: Optional[float] = ..., idle_timeout: Optional[float] = ...,
               tags: Optional[dict[str, str]] = ...) -> ChatStream: ...

class OpenAIClient(_ChatClient):
    def __init__(self, base_url: Optional[str] = ..., *, api_key: Optional[str] = ..., model: Optional[str] = ...,
                 embedding_model: Optional[str] = ..., organization: Optional[str] = ..., project: Optional[str] = ...,
                 headers: Optional[dict[str, str]] = ..., max_completion_tokens: bool = ...,
                 embedding_batch_size: int = ..., embedding_batch_tokens: int = ...,
                 embedding_concurrency: int = ...) -> None: ...
    def embed(self, inputs: Sequence[str], *, model: Optional[str] = ..., dimensions: Optional[int] = ...,
              timeout: Optional[float] = ...,
              tags: Optional[dict[str, str]] = ...) -> Any: ...  # numpy.ndarray, float32, shape (n, d)

class AnthropicClient(_ChatClient):
    def __init__(self, *, api_key: Optional[str] = ..., model: Optional[str] = ..., base_url: Optional[str] = ...,
                 anthropic_version: Optional[str] = ..., max_tokens: int = ...,
                 headers: Optional[dict[str, str]] = ...) -> None: ...

class ChatModel(_ChatClient):
    def embed(self, inputs: Sequence[str], *, model: Optional[str] = ..., dimensions: Optional[int] = ...,
              timeout: Optional[float] = ...,
              tags: Optional[dict[str, str]] = ...) -> Any: ...  # TypeError unless it wraps an OpenAIClient

_Model = Union[OpenAIClient, AnthropicClient, ChatModel]
_FallbackEntry = Union[_Model, tuple[_Model, Optional[str]], tuple[_Model, Optional[str], Optional[str]]]

def with_retry(model: _Model, *, max_retries: Optional[int] = ..., max_attempts: Optional[int] = ..., initial_backoff: float = ..., max_backoff: float = ...,
               max_retry_after: float = ..., attempt_timeout: Optional[float] = ..., budget: Optional[float] = ...,
               budget_burst: float = ...) -> ChatModel: ...
def with_fallback(models: Sequence[_FallbackEntry], *, context_window_fallbacks: Optional[Sequence[_FallbackEntry]] = ...,
                  content_policy_fallbacks: Optional[Sequence[_FallbackEntry]] = ..., cooldown: float = ...,
                  cooldown_failure_ratio: float = ...) -> ChatModel: ...
def with_circuit_breaker(model: _Model, *, failure_ratio: float = ..., window: int = ..., min_calls: int = ...,
                         open_for: float = ..., half_open_calls: int = ..., name: str = ...) -> ChatModel: ...
def with_rate_limit(model: _Model, *, requests_per_minute: float = ..., tokens_per_minute: float = ...,
                    wait: bool = ..., tokenizer: Optional[Union[Encoding, str]] = ...) -> ChatModel: ...
def with_hedging(model: _Model, *, delay: Optional[float] = ..., percentile: float = ..., min_samples: int = ...,
                 initial_delay: float = ...) -> ChatModel: ...

class Template:
    def __init__(self, source: str, *, strict: bool = ..., trim_blocks: bool = ..., lstrip_blocks: bool = ...,
                 keep_trailing_newline: bool = ..., loader: Optional[Callable[[str], Optional[str]]] = ...,
                 now: Any = ..., name: str = ..., max_output_bytes: int = ..., max_loop_iterations: int = ...,
                 max_recursion_depth: int = ...) -> None: ...
    def render(self, context: Optional[dict[str, Any]] = ..., **kwargs: Any) -> str: ...
    @property
    def variables(self) -> list[str]: ...

class ChatTemplate:
    def __init__(self, source: str, *, bos_token: str = ..., eos_token: str = ..., strict: bool = ...,
                 now: Any = ...) -> None: ...
    def apply(self, messages: list[dict[str, Any]], tools: Optional[list[dict[str, Any]]] = ...,
              add_generation_prompt: bool = ..., **extra: Any) -> str: ...

class FStringTemplate:
    def __init__(self, source: str) -> None: ...
    def format(self, **kwargs: Any) -> str: ...
    def render(self, context: Optional[dict[str, Any]] = ..., **kwargs: Any) -> str: ...
    @property
    def variables(self) -> list[str]: ...

class PromptVersion:
    name: str
    version: int
    hash: str
    id: str
    description: str
    format: str
    parameters: dict[str, Any]
    input_variables: list[str]
    body: str
    created_at: str
    error: str
    def render(self, context: Optional[dict[str, Any]] = ..., **kwargs: Any) -> str: ...

class PromptEvent:
    prompt: str
    label: str
    version: int
    action: str
    at: str

class PromptRegistry:
    def __init__(self, dir: str) -> None: ...
    def sync(self) -> list[PromptVersion]: ...
    def get(self, name: str, label: str = ...) -> PromptVersion: ...
    def get_version(self, name: str, version: int) -> PromptVersion: ...
    def promote(self, name: str, version: int, label: str) -> None: ...
    def rollback(self, name: str, label: str) -> int: ...
    def names(self) -> list[str]: ...
    def versions(self, name: str) -> list[PromptVersion]: ...
    def labels(self, name: str) -> dict[str, int]: ...
    def history(self, name: str = ...) -> list[PromptEvent]: ...

class SearchHit:
    id: str
    score: float
    text: str
    metadata: Any

class Collection:
    def __init__(self, dim: int, metric: str = ..., index: str = ..., *, float16: bool = ...,
                 hnsw_m: int = ..., hnsw_ef_construction: int = ..., hnsw_ef_search: int = ...,
                 ivf_nlist: int = ..., ivf_nprobe: int = ..., ivf_train_size: int = ...,
                 compact_deleted_fraction: float = ...) -> None: ...
    @staticmethod
    def load(dir: str) -> Collection: ...
    def add(self, ids: list[str], vectors: Any, texts: Optional[list[str]] = ...,
            metadatas: Optional[list[Optional[dict[str, Any]]]] = ...) -> None: ...
    def upsert(self, ids: list[str], vectors: Any, texts: Optional[list[str]] = ...,
               metadatas: Optional[list[Optional[dict[str, Any]]]] = ...) -> None: ...
    def delete(self, ids: list[str]) -> int: ...
    def delete_where(self, where: dict[str, Any]) -> int: ...
    def compact(self) -> None: ...
    def set_search_effort(self, effort: int) -> None: ...
    def get(self, id: str) -> dict[str, Any]: ...
    def search(self, query: Any, k: int = ..., where: Optional[dict[str, Any]] = ...,
               exact: bool = ..., ef_search: int = ..., nprobe: int = ...) -> Any: ...
    def save(self, dir: str) -> None: ...
    def stats(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...
    def __contains__(self, id: str) -> bool: ...
    dim: int
    metric: str
    index: str

class Bm25Hit:
    id: str
    score: float

class Bm25Index:
    def __init__(self, *, k1: float = ..., b: float = ..., stop_words: bool = ...,
                 stemming: bool = ...) -> None: ...
    def add(self, ids: list[str], texts: list[str]) -> None: ...
    def upsert(self, ids: list[str], texts: list[str]) -> None: ...
    def delete(self, ids: list[str]) -> int: ...
    def search(self, query: str, k: int = ...) -> list[Bm25Hit]: ...
    def analyze(self, text: str) -> list[str]: ...
    def __len__(self) -> int: ...
    def __contains__(self, id: str) -> bool: ...

class RetrievedHit:
    id: str
    score: float
    vector_rank: int
    lexical_rank: int
    vector_score: float
    lexical_score: float
    text: str
    metadata: Any

class Retriever:
    def __init__(self, collection: Optional[Collection] = ..., bm25: Optional[Bm25Index] = ..., *,
                 mode: str = ..., fusion: str = ..., alpha: float = ..., rrf_k: float = ...,
                 vector_weight: float = ..., lexical_weight: float = ..., candidates: int = ...,
                 mmr: bool = ..., mmr_lambda: float = ...) -> None: ...
    def search(self, *, text: Optional[str] = ..., vector: Any = ..., k: int = ...,
               where: Optional[dict[str, Any]] = ..., timeout: Optional[float] = ...,
               tags: Optional[dict[str, str]] = ...) -> list[RetrievedHit]: ...


class RagPassage:
    n: int
    chunk_id: str
    doc_id: str
    path: str
    start: int
    end: int
    line_start: int
    line_end: int
    score: float
    text: str
    metadata: dict[str, Any]


class RagAnswer:
    generated: bool
    text: str
    citations: list[RagPassage]
    context: list[RagPassage]
    prompt: str
    usage: Usage
    model: str


class IngestProgress:
    documents_total: int
    documents_done: int
    documents_unchanged: int
    documents_failed: int
    documents_removed: int
    chunks: int
    chunks_embedded: int
    chunks_reused: int
    chunks_removed: int
    bytes: int
    seconds: float
    errors: list[str]


class RagPipeline:
    def __init__(self, embedder: Any = ..., chat: Any = ..., *, chunk_size: int = ...,
                 chunk_overlap: int = ..., k: int = ..., embedding_model: Optional[str] = ...,
                 chat_model: Optional[str] = ..., mode: str = ..., alpha: float = ...,
                 index: str = ..., float16: bool = ..., system_prompt: Optional[str] = ...,
                 prompt_template: Optional[str] = ..., max_tokens: Optional[int] = ...,
                 temperature: Optional[float] = ..., local_dimensions: int = ...,
                 embed_batch_size: int = ..., embed_concurrency: int = ...) -> None: ...
    @staticmethod
    def load(dir: str, *, embedder: Any = ..., chat: Any = ..., embedding_model: Optional[str] = ...,
             chat_model: Optional[str] = ...) -> RagPipeline: ...
    def ingest(self, documents: Any, *, progress: Optional[Callable[[IngestProgress], Any]] = ...,
               group_chunks: int = ..., timeout: Optional[float] = ...,
               tags: Optional[dict[str, str]] = ...) -> IngestProgress: ...
    def ingest_directory(self, dir: str, *, extensions: Optional[list[str]] = ...,
                         remove_missing: bool = ..., max_file_bytes: int = ...,
                         progress: Optional[Callable[[IngestProgress], Any]] = ...,
                         group_chunks: int = ..., timeout: Optional[float] = ...,
                         tags: Optional[dict[str, str]] = ...) -> IngestProgress: ...
    def ingest_dir(self, dir: str, *, extensions: Optional[list[str]] = ...,
                   remove_missing: bool = ..., max_file_bytes: int = ...,
                   progress: Optional[Callable[[IngestProgress], Any]] = ...,
                   group_chunks: int = ..., timeout: Optional[float] = ...,
                   tags: Optional[dict[str, str]] = ...) -> IngestProgress: ...
    def remove(self, doc_ids: list[str]) -> int: ...
    def retrieve(self, question: str, *, k: int = ..., where: Optional[dict[str, Any]] = ...,
                 timeout: Optional[float] = ..., tags: Optional[dict[str, str]] = ...) -> list[RagPassage]: ...
    def answer(self, question: str, *, k: int = ..., where: Optional[dict[str, Any]] = ...,
               on_text: Optional[Callable[[str], Any]] = ..., timeout: Optional[float] = ...,
               idle_timeout: Optional[float] = ..., tags: Optional[dict[str, str]] = ...) -> RagAnswer: ...
    def save(self, dir: str) -> None: ...
    def stats(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...


def cited_numbers(answer: str, passages: int) -> list[int]: ...

# Deprecated spellings, kept for one release (reading them warns).
Answer = RagAnswer
BM25Hit = Bm25Hit
BM25Index = Bm25Index
Hit = SearchHit
IngestStats = IngestProgress
Passage = RagPassage
Prompt = PromptVersion
