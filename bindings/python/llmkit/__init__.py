"""llmkit: the reliable parts of LLM applications, from C++ with Python bindings.

    import llmkit
    splitter = llmkit.RecursiveCharacterSplitter(chunk_size=1000, chunk_overlap=200)
    for chunk in splitter.split(text):
        assert text[chunk.start:chunk.end] == chunk.text
"""

from ._errors import (
    AbortedError,
    AlreadyExistsError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    Error,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    RateLimitError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
)
from ._llmkit import (
    Chunk,
    Encoding,
    MarkdownSplitter,
    RecursiveCharacterSplitter,
    SentenceSplitter,
    TokenSplitter,
    __version__,
    encoding_for_model,
    encoding_name_for_model,
    get_encoding,
    json_dumps,
    json_loads,
    load_encoding,
)

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "CancelledError",
    "Chunk",
    "DataLossError",
    "DeadlineExceededError",
    "Encoding",
    "Error",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "MarkdownSplitter",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RecursiveCharacterSplitter",
    "SentenceSplitter",
    "TokenSplitter",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "__version__",
    "encoding_for_model",
    "encoding_name_for_model",
    "get_encoding",
    "json_dumps",
    "json_loads",
    "load_encoding",
]
