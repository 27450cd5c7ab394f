#!/usr/bin/env bash
# Installs the Debian 12 packages llmkit needs to build, test and run its demo. Idempotent:
# apt-get runs only when something is missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  # Toolchain and build.
  build-essential cmake pkg-config git ccache
  # Library dependencies (the product card's, plus RE2 for regex separators).
  libabsl-dev libsimdjson-dev libre2-dev libcurl4-openssl-dev unicode-data
  # The embedding index: FAISS (static, needs OpenMP and BLAS; BLAS also serves batch search).
  libfaiss-dev libopenblas-dev
  # Tests and benchmarks.
  libgtest-dev libgmock-dev libbenchmark-dev
  # The tracer's Prometheus text checked with promtool and scraped by a real Prometheus server.
  prometheus
  # Guardrails: phone numbers checked against real number plans.
  libphonenumber-dev
  # The pgvector store's PostgreSQL client.
  libpq-dev
  # Budgets shared across processes: the hiredis client, and a Redis server (7.0) the tests
  # start on a free port of 127.0.0.1 (the package's own service is not used).
  libhiredis-dev redis-server
  # Agent runs paused for approval (the run store).
  libsqlite3-dev
  # Evaluation suites (promptfoo's YAML configuration files).
  libyaml-cpp-dev
  # gzip of the OTLP exports.
  zlib1g-dev
  # Python bindings: Debian's interpreter with numpy and pytest; venv + setuptools + wheel for
  # the `pip install .` test.
  pybind11-dev python3-dev python3-numpy python3-pytest python3-venv python3-setuptools
  python3-wheel python3-pip
  # make bench-guard's charts (docs/benchmarks.md).
  python3-matplotlib
  # The type stub is checked against the compiled module (mypy's stubtest).
  mypy
  # The evaluation report's test opens the HTML page in a real headless browser.
  chromium
  # The template engine's oracle (differential tests and the side-by-side comparison).
  python3-jinja2
  # The index's peers in the side-by-side runs: FAISS and hnswlib from Python, SQLite FTS5.
  python3-faiss python3-hnswlib sqlite3
  # Structured output's tests of pydantic models (llmkit never requires pydantic).
  python3-pydantic
  # The real document set for the demo, tests and benchmarks (Python docs sources).
  python3.11-doc
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
