"""`pip install --no-build-isolation .` into a venv works offline, and `import llmkit` then
works from any directory. Installs from a copy of the tracked source files (a clean tree)."""

import os
import pathlib
import shutil
import subprocess
import sys

from conftest import SOURCE_DIR


def tracked_files():
    result = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=SOURCE_DIR, capture_output=True)
    if result.returncode == 0 and result.stdout:
        return [f for f in result.stdout.decode().split("\0") if f]
    ignored = {"build", ".cache", ".git"}
    return [str(p.relative_to(SOURCE_DIR)) for p in SOURCE_DIR.rglob("*")
            if p.is_file() and not ignored & set(p.relative_to(SOURCE_DIR).parts)]


def test_pip_install_into_venv(tmp_path):
    source = tmp_path / "src"
    for name in tracked_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SOURCE_DIR / name, target)
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PIP_NO_INDEX"] = "1"  # Prove nothing is fetched.
    subprocess.run([str(venv / "bin/pip"), "install", "--no-build-isolation", "-q", str(source)],
                   check=True, env=env, timeout=1200)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = ("import llmkit, pathlib; "
             "s = llmkit.RecursiveCharacterSplitter(chunk_size=10, chunk_overlap=0); "
             "assert s.split_text('hello world, again') == ['hello', 'world,', 'again']; "
             "assert 'site-packages' in llmkit.__file__; print(llmkit.__version__)")
    result = subprocess.run([str(venv / "bin/python"), "-c", check], cwd=elsewhere, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().count(".") == 2
    # The `llmkit` command is on the environment's PATH, with its exit codes.
    command = venv / "bin" / "llmkit"
    assert command.is_file()
    result = subprocess.run([str(command), "--help"], cwd=elsewhere, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert "index" in result.stdout and "ask" in result.stdout
    result = subprocess.run([str(command), "tokens", "--encoding", "no-such-encoding", "x"],
                            cwd=elsewhere, env=env, capture_output=True, text=True)
    assert result.returncode != 0
