"""The chunker API from Python: keywords, offsets as str indices, metadata, errors."""

import random

import llmkit
import pytest


def test_split_text_and_split_agree():
    text = "Alpha beta gamma.\n\nDelta epsilon.\n\nZeta eta theta iota kappa."
    s = llmkit.RecursiveCharacterSplitter(chunk_size=20, chunk_overlap=0)
    chunks = s.split(text)
    assert [c.text for c in chunks] == s.split_text(text)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.metadata is None
    assert s.chunk_size == 20 and s.chunk_overlap == 0
    assert s.separators == ["\n\n", "\n", " ", ""]
    assert "chunk_size=20" in repr(s)


def test_offsets_are_str_indices_on_non_ascii_text():
    rng = random.Random(5)
    alphabet = ["a", "é", "€", "😀", " ", "\n", "\n\n", "日本", "\u3000", "word"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(200)))
        size = rng.randrange(2, 40)
        s = llmkit.RecursiveCharacterSplitter(
            chunk_size=size, chunk_overlap=rng.randrange(size), hard_limit=rng.random() < 0.5
        )
        for c in s.split(text):
            assert text[c.start : c.end] == c.text
            assert text.encode()[c.byte_start : c.byte_end].decode() == c.text


def test_keep_separator_and_length_units():
    s = llmkit.RecursiveCharacterSplitter(
        chunk_size=7, chunk_overlap=0, separators=["."], keep_separator="end"
    )
    assert s.split_text("aa.bb.cc.dd") == ["aa.bb.", "cc.dd"]
    s = llmkit.RecursiveCharacterSplitter(
        chunk_size=7, chunk_overlap=0, separators=["."], keep_separator=True
    )
    assert s.split_text("aa.bb.cc.dd") == ["aa.bb", ".cc.dd"]
    emoji = "😀😁 😂😃"
    assert len(llmkit.RecursiveCharacterSplitter(chunk_size=5, chunk_overlap=0).split(emoji)) == 1
    utf16 = llmkit.RecursiveCharacterSplitter(chunk_size=5, chunk_overlap=0, length_unit="utf16")
    assert utf16.split_text(emoji) == ["😀😁", "😂😃"]


def test_length_function_and_its_errors():
    words = llmkit.RecursiveCharacterSplitter(
        chunk_size=3, chunk_overlap=0, length_function=lambda t: len(t.split())
    )
    assert words.split_text("a b c d e f g") == ["a b c", "d e f", "g"]

    def broken(text):
        raise RuntimeError("length failed")

    s = llmkit.RecursiveCharacterSplitter(chunk_size=3, chunk_overlap=0, length_function=broken)
    with pytest.raises(RuntimeError, match="length failed"):
        s.split_text("a b c d")
    with pytest.raises(llmkit.InvalidArgumentError, match=r"negative length \(-1\)"):
        llmkit.RecursiveCharacterSplitter(length_function=lambda t: -1).split_text("x y")
    with pytest.raises(TypeError, match="must return an int"):
        llmkit.RecursiveCharacterSplitter(length_function=lambda t: "3").split_text("x y")
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.RecursiveCharacterSplitter(length_function=42)


def test_from_language_and_separators():
    s = llmkit.RecursiveCharacterSplitter.from_language("python", chunk_size=30, chunk_overlap=0)
    code = "def f():\n    return 1\n\nclass A:\n    def g(self):\n        pass\n"
    assert s.split_text(code)[0] == "def f():\n    return 1"
    seps = llmkit.RecursiveCharacterSplitter.get_separators_for_language("markdown")
    assert seps[0] == "\n## " and seps[-1] == ""
    with pytest.raises(llmkit.InvalidArgumentError, match="unknown language"):
        llmkit.RecursiveCharacterSplitter.from_language("klingon")


def test_markdown_splitter_headings():
    md = "# Installing\n\nRun it.\n\n## From source\n\n```sh\n# not a heading\nmake\n```\n"
    chunks = llmkit.MarkdownSplitter(chunk_size=1000, chunk_overlap=0).split(md)
    assert [c.metadata["headings"] for c in chunks] == [
        ["Installing"],
        ["Installing", "From source"],
    ]
    assert "# not a heading" in chunks[1].text
    for c in chunks:
        assert md[c.start : c.end] == c.text


def test_errors_are_typed():
    with pytest.raises(llmkit.InvalidArgumentError) as info:
        llmkit.RecursiveCharacterSplitter(chunk_size=10, chunk_overlap=10)
    assert isinstance(info.value, ValueError) and isinstance(info.value, llmkit.Error)
    assert info.value.code == "INVALID_ARGUMENT"
    with pytest.raises(llmkit.InvalidArgumentError, match="surrogate"):
        llmkit.RecursiveCharacterSplitter().split("bad \ud800 text")
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.RecursiveCharacterSplitter(keep_separator="middle")
    with pytest.raises(llmkit.InvalidArgumentError):
        llmkit.RecursiveCharacterSplitter(length_unit="words")
    with pytest.raises(TypeError):
        llmkit.RecursiveCharacterSplitter(1000)  # Keywords only, as documented.


def test_hard_limit_error_carries_offset():
    s = llmkit.RecursiveCharacterSplitter(
        chunk_size=3, chunk_overlap=0, length_unit="bytes", hard_limit=True
    )
    with pytest.raises(llmkit.InvalidArgumentError) as info:
        s.split("ab 😀")
    assert info.value.byte_offset == 3


def test_splitting_releases_the_gil(docs_corpus):
    import threading

    s = llmkit.RecursiveCharacterSplitter(chunk_size=1000, chunk_overlap=200)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(len(s.split_text(docs_corpus))))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == results[1] > 10000


def test_stub_lists_the_public_names():
    import pathlib

    stub = (pathlib.Path(llmkit.__file__).parent / "__init__.pyi").read_text()
    for name in llmkit.__all__:
        assert name in stub, name
