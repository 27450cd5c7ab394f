"""Differential test: llmkit's tokenizer against npm `tiktoken` 1.0.22 (OpenAI's Rust core as
WASM), the oracle. Every id must match, and decode(encode(x)) must give x back byte for byte.

Inputs: a sample of the Python docs corpus (every file with LLMKIT_FULL_CONFORMANCE=1, as
`make conformance` sets) and a generated stress set: CJK, emoji with modifiers and ZWJ sequences,
combining marks, RTL scripts, every kind of whitespace run, long digit runs, contractions, mixed
scripts, the code points on both sides of every Unicode general category boundary, and random
bytes decoded lossily. Needs node and the npm packages (scripts/install-test-peers.sh).
"""

import json
import os
import pathlib
import random
import shutil
import subprocess
import tempfile

import llmkit
import numpy as np
import pytest

from conftest import DOCS_SOURCES, PEERS, SOURCE_DIR, missing_peer

ORACLE = SOURCE_DIR / "tests" / "tokenizer" / "tiktoken_oracle.mjs"
UNICODE_DATA = pathlib.Path("/usr/share/unicode/UnicodeData.txt")
ENCODINGS = ["cl100k_base", "o200k_base", "p50k_base", "r50k_base"]


def run_tiktoken(encoding, texts, allowed_special=None):
    """The ids npm tiktoken gives for each text (encode_ordinary, or encode with
    allowed_special)."""
    if shutil.which("node") is None or not (PEERS / "node_modules/tiktoken").is_dir():
        missing_peer(f"node or tiktoken under {PEERS} missing: run scripts/install-test-peers.sh")
    with tempfile.TemporaryDirectory() as tmp:
        job = {"library": "tiktoken", "encoding": encoding, "texts": texts,
               "output": str(pathlib.Path(tmp, "ids.bin"))}
        if allowed_special is not None:
            job["allowed_special"] = allowed_special
        pathlib.Path(tmp, "job.json").write_text(json.dumps(job))
        subprocess.run(["node", str(ORACLE), str(pathlib.Path(tmp, "job.json"))], check=True,
                       env=dict(os.environ, LLMKIT_PEERS_DIR=str(PEERS)), timeout=900,
                       stdout=subprocess.DEVNULL)
        flat = np.fromfile(job["output"], dtype="<u4")
    out, at = [], 0
    for _ in texts:
        n = int(flat[at])
        out.append(flat[at + 1:at + 1 + n].tolist())
        at += 1 + n
    return out


@pytest.fixture(scope="module")
def encodings(ranks_dir):
    return {name: llmkit.get_encoding(name, cache_dir=str(ranks_dir)) for name in ENCODINGS}


def assert_same(enc, texts, expected):
    ours = enc.encode_ordinary_batch(texts, num_threads=2)
    for text, got, want in zip(texts, ours, expected):
        if got != want:
            pieces = [enc.decode_single_token_bytes(t) for t in got]
            ref = [enc.decode_single_token_bytes(t) for t in want]
            pytest.fail(f"{enc.name}: {text[:200]!r}\n llmkit:   {pieces[:40]}\n tiktoken: {ref[:40]}")
        assert enc.decode_bytes(got) == text.encode("utf-8")


# --- The stress set -------------------------------------------------------------------------

WHITESPACE = ["\t", "\n", "\v", "\f", "\r", " ", "\x85", "\xa0", "\u1680", "\u2000", "\u2005",
              "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\r\n", "\u200b",
              "\x1c", "\x1f", "\u180e", "\ufeff"]
PIECES = [
    "日本語のテキストです。", "中文文本，还有标点！", "한국어 문장입니다", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ１２３",
    "👩🏽‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸🇯🇵", "👍🏿", "❤️", "✋🏻", "🧑‍🤝‍🧑", "#️⃣",
    "e\u0301", "a\u0308\u0304", "\u0301", "\u0915\u094d\u0937", "ﬁ", "Å", "ǅ", "ǈungla",
    "مرحبا بالعالم", "שָׁלוֹם", "\u200f\u202e", "فارسی۱۲۳", "١٢٣٤٥٦", "Ελληνικά", "Привет, мир",
    "'s", "'S", "'t", "'re", "'RE", "'ve", "'m", "'ll", "'LL", "'d", "'D", "'ſ", "'x", "''s",
    "don't", "DON'T", "I'LL", "it's", "ÉCOLE'S", "naïve'll", "the dog's", "ʼs",
    "0", "12", "123", "1234", "12345678901234567890", "٣", "²³", "½", "Ⅻ", "①②", "𝟙𝟚",
    "...", "!!!", "?!", "-->", "<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "/**/",
    "https://example.com/a/b?c=d", "a/b/c\n", "x.\n\n", "{\n  \"k\": [1, 2]\n}",
    "CamelCaseWord", "ALLCAPS", "mIxEd", "ΣΊΣΥΦΟΣ", "ǅemal", "ᾈ", "Lmʰʲ", "ʻokina",
    "\u0300abc", "A\u0300", "ªº", "ǃǂ", "々〆", "ー", "ﾟ", "𝒜𝓑", "𐐀𐐨", "\U00011f04\U00011f05",
    "\ufffd", "\x00", "\x7f", "\u00ad", "\U000e0001", "\U0010fffd",
]


def category_boundary_chars():
    """Code points on both sides of every change of general category (Unicode 15)."""
    if not UNICODE_DATA.is_file():
        return []
    category = {}
    first = None
    for line in UNICODE_DATA.read_text().splitlines():
        fields = line.split(";")
        cp, name, cat = int(fields[0], 16), fields[1], fields[2]
        if name.endswith(", First>"):
            first = cp
            continue
        for c in range(first if name.endswith(", Last>") else cp, cp + 1):
            category[c] = cat
        first = None
    chars, previous = [], None
    for cp in range(0x110000):
        cat = category.get(cp, "Cn")
        if cat != previous:
            for c in (cp - 1, cp):
                if c >= 0 and not 0xD800 <= c < 0xE000:
                    chars.append(chr(c))
        previous = cat
    return chars


def stress_texts(seed=1234):
    rng = random.Random(seed)
    boundary = category_boundary_chars()
    texts = list(PIECES) + WHITESPACE
    # Whitespace runs of every kind, before letters, digits, punctuation, newlines and the end.
    for ws in WHITESPACE:
        for n in (1, 2, 3, 7):
            for after in ("", "a", "1", "!", "\n", " x", "'s", "é", "日"):
                texts.append("x" + ws * n + after)
                texts.append(ws * n + after)
    # Boundary code points in the contexts where the classes matter.
    for i in range(0, len(boundary), 3):
        c = "".join(boundary[i:i + 3])
        texts += [c, "a" + c + "b", " " + c + "'s", "1" + c + "2", "!" + c, c + "\n\n ", "A" + c + "a"]
    # Long digit runs, contractions after every script, random mixtures.
    for n in range(1, 40):
        texts.append("".join(rng.choice("0123456789") for _ in range(n)))
    atoms = PIECES + WHITESPACE + boundary[::7] + ["the", " of", "A", "z", " ", "  ", "\n", "9"]
    for _ in range(3000):
        texts.append("".join(rng.choice(atoms) for _ in range(rng.randint(1, 12))))
    # Random bytes, decoded lossily.
    for _ in range(500):
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        texts.append(raw.decode("utf-8", "replace"))
    # Long pieces (the heap merge path): long runs of one class.
    texts += ["a" * 3000, "=" * 1000, " " * 2000, "ab" * 1500, "😀" * 300, "\n" * 500, "x\u0301" * 400]
    return [t for t in texts if t]


@pytest.mark.parametrize("name", ENCODINGS)
def test_stress_set_matches_tiktoken(encodings, name):
    texts = stress_texts()
    assert_same(encodings[name], texts, run_tiktoken(name, texts))


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_docs_corpus_matches_tiktoken(encodings, name):
    if not DOCS_SOURCES.is_dir():
        pytest.skip(f"{DOCS_SOURCES} is absent: run scripts/install-deps.sh (python3.11-doc)")
    files = sorted(DOCS_SOURCES.rglob("*.txt"), key=lambda p: str(p).encode())
    if os.environ.get("LLMKIT_FULL_CONFORMANCE") != "1":
        files = files[::6]  # A sample in `make test`; every file in `make conformance`.
    texts = [p.read_text(encoding="utf-8") for p in files]
    texts.append("".join(texts))  # The concatenation too: pieces across file boundaries.
    assert_same(encodings[name], texts, run_tiktoken(name, texts))


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base", "p50k_edit"])
def test_special_tokens_match_tiktoken(ranks_dir, name):
    enc = llmkit.get_encoding(name, cache_dir=str(ranks_dir))
    specials = sorted(enc.special_tokens_set)
    rng = random.Random(7)
    texts = []
    for _ in range(300):
        parts = [rng.choice(specials + ["hello", " world", "<|", "|>", "<|endoftext", "\n", "  "])
                 for _ in range(rng.randint(1, 8))]
        texts.append("".join(parts))
    expected = run_tiktoken(name, texts, allowed_special="all")
    for text, want in zip(texts, expected):
        assert enc.encode(text, allowed_special="all") == want, text
    allowed = {specials[0]}
    for text in texts:
        others = [s for s in specials if s not in allowed and s in text]
        if others:
            with pytest.raises(llmkit.InvalidArgumentError):
                enc.encode(text, allowed_special=allowed)
        else:
            assert enc.encode(text, allowed_special=allowed) == enc.encode(text, allowed_special="all")
        assert enc.encode(text, disallowed_special=()) == enc.encode_ordinary(text)
    for bad in ({"allowed_special": "none"}, {"disallowed_special": "some"}):
        with pytest.raises(llmkit.InvalidArgumentError, match="special must be"):
            enc.encode("x", **bad)
    for bad in ({"allowed_special": 5}, {"disallowed_special": [1]}):  # Wrong Python types.
        with pytest.raises(TypeError):
            enc.encode("x", **bad)


def test_model_names_match_tiktoken():
    table = PEERS / "node_modules" / "tiktoken" / "model_to_encoding.json"
    if not table.is_file():
        missing_peer(f"{table} missing: run scripts/install-test-peers.sh")
    for model, encoding in json.loads(table.read_text()).items():
        if encoding == "gpt2":
            continue  # The data-gym format; r50k_base has the same ranks.
        assert llmkit.encoding_name_for_model(model) == encoding, model
    assert llmkit.encoding_name_for_model("ft:gpt-4o:acme::abc") == "o200k_base"
    assert llmkit.encoding_name_for_model("gpt-4-0314") == "cl100k_base"
    with pytest.raises(llmkit.NotFoundError):
        llmkit.encoding_name_for_model("llama-3")
