"""Where rank files come from: llmkit's cache, tiktoken's cache layout, the opt-in download
(from a real HTTP server on 127.0.0.1) with its SHA-256 check, and the errors when none works.

Each scenario uses a different encoding: loaded encodings are shared per process by name.
"""

import functools
import hashlib
import http.server
import random
import shutil
import threading

import llmkit
import pytest

from conftest import SOURCE_DIR  # noqa: F401  (conftest sets up paths)


@pytest.fixture()
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/encodings"
    httpd.shutdown()


@pytest.fixture()
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("LLMKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # tiktoken's "caching disabled"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)


def test_download_checks_sha256_and_stores_atomically(ranks_dir, server, clean_env, tmp_path):
    root, base = server
    (root / "encodings").mkdir()
    good = (ranks_dir / "cl100k_base.tiktoken").read_bytes()
    cache = tmp_path / "cache"
    # A tampered file is refused and not stored.
    tampered = good.replace(b" 100\n", b" 101\n", 1)
    (root / "encodings" / "cl100k_base.tiktoken").write_bytes(tampered)
    with pytest.raises(llmkit.DataLossError, match="SHA-256"):
        llmkit.get_encoding("cl100k_base", cache_dir=str(cache), allow_download=True,
                            download_base_url=base)
    assert not cache.exists() or not any(cache.iterdir())
    # Without allow_download nothing is fetched, and the error says where it looked.
    with pytest.raises(llmkit.NotFoundError, match="allow_download"):
        llmkit.get_encoding("cl100k_base", cache_dir=str(cache))
    # The real file is downloaded, verified and stored under its name, no temp file left.
    (root / "encodings" / "cl100k_base.tiktoken").write_bytes(good)
    enc = llmkit.get_encoding("cl100k_base", cache_dir=str(cache), allow_download=True,
                              download_base_url=base)
    assert enc.encode("hello world") == [15339, 1917]
    assert sorted(p.name for p in cache.iterdir()) == ["cl100k_base.tiktoken"]
    assert (cache / "cl100k_base.tiktoken").read_bytes() == good


def test_http_errors_are_unavailable(server, clean_env, tmp_path):
    _, base = server
    with pytest.raises(llmkit.UnavailableError, match="HTTP 404"):
        llmkit.get_encoding("p50k_edit", cache_dir=str(tmp_path / "c"), allow_download=True,
                            download_base_url=base)
    with pytest.raises(llmkit.UnavailableError):
        llmkit.get_encoding("p50k_edit", cache_dir=str(tmp_path / "c"), allow_download=True,
                            download_base_url="http://127.0.0.1:9/encodings")


def test_tiktoken_cache_layout(ranks_dir, clean_env, monkeypatch, tmp_path):
    url = "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken"
    tiktoken_cache = tmp_path / "data-gym-cache"
    tiktoken_cache.mkdir()
    shutil.copy(ranks_dir / "r50k_base.tiktoken", tiktoken_cache / hashlib.sha1(url.encode()).hexdigest())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_cache))
    enc = llmkit.get_encoding("r50k_base")
    assert enc.n_vocab == 50257 and enc.eot_token == 50256
    assert llmkit.get_encoding("r50k_base") is enc  # One shared instance per name.


def test_llmkit_cache_dir_and_corrupt_files(ranks_dir, clean_env, monkeypatch, tmp_path):
    cache = tmp_path / "llmkit-cache"
    cache.mkdir()
    (cache / "p50k_base.tiktoken").write_bytes(b"not a rank file\n")
    monkeypatch.setenv("LLMKIT_CACHE_DIR", str(cache))
    with pytest.raises(llmkit.DataLossError, match="p50k_base.tiktoken"):
        llmkit.get_encoding("p50k_base")
    shutil.copy(ranks_dir / "p50k_base.tiktoken", cache / "p50k_base.tiktoken")
    assert llmkit.get_encoding("p50k_base").name == "p50k_base"
    assert llmkit.encoding_for_model("text-davinci-003").name == "p50k_base"


def test_load_encoding_from_a_path(ranks_dir, tmp_path):
    enc = llmkit.load_encoding("o200k_base", str(ranks_dir / "o200k_base.tiktoken"))
    assert enc.encode("hello world") == [24912, 2375]
    with pytest.raises(llmkit.NotFoundError):
        llmkit.load_encoding("o200k_base", str(tmp_path / "missing.tiktoken"))
    with pytest.raises(llmkit.DataLossError, match="SHA-256"):
        llmkit.load_encoding("o200k_base", str(ranks_dir / "cl100k_base.tiktoken"))


def test_lossy_utf8_matches_python():
    rng = random.Random(5)
    alphabet = [0x00, 0x41, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0,
                0xF4, 0xF5, 0xFF, 0x9F, 0xA0, 0x8F, 0x90]
    for _ in range(20000):
        data = bytes(rng.choice(alphabet) if rng.random() < 0.8 else rng.randrange(256)
                     for _ in range(rng.randint(0, 12)))
        assert llmkit._llmkit._utf8_lossy(data) == data.decode("utf-8", "replace").encode("utf-8"), data
