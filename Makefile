# The two commands of the README, each complete on a fresh Debian 12 machine (as root):
#   make demo   install what is missing (deps), build only the library and the `llmkit` command,
#               index the Python docs and ask three questions
#   make test   every step below, in order:
#                 deps          Debian packages (scripts/install-deps.sh; ccache among them)
#                 peers         npm reference implementations (scripts/install-test-peers.sh)
#                 lint          clang-format check of every tracked C++ file, and the layering
#                               check (scripts/check-layering.py: no private header across parts)
#                 test-release  release build of everything (warnings are errors), then every
#                               ctest: C++ unit tests, examples, fuzz-corpus replays, Python tests
#                               (differential tests against LangChain.js, tiktoken, Jinja2; the
#                               type stub; the `pip install .` test), the find_package install test
#                 bench-guard   the hot paths' ratios to their floors and peers in one run
#                               (benchmarks/guard/bench_guard.py); fails on a regression
#                 test-asan     the C++ tests again under AddressSanitizer + UBSan
#                 test-tsan     the multi-threaded parts' tests under ThreadSanitizer
# Every build goes through ccache. Other targets: check (release build + the quick unit tests,
# for iteration), build, bench, compare, conformance, fuzz, format.

JOBS ?= 2
RELEASE := build/release
DOCS_CORPUS := /usr/share/doc/python3.11/html/_sources

.PHONY: deps peers build demo test check lint test-release bench-guard test-asan test-tsan bench compare conformance fuzz format

deps:
	bash scripts/install-deps.sh

peers:
	bash scripts/install-test-peers.sh

build: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

# Only what the demo runs: the library and the command line (no tests, no benchmarks).
demo: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS) --target llmkit_cli
	bash scripts/demo.sh $(DOCS_CORPUS)

test: deps peers lint test-release bench-guard test-asan test-tsan

# The hot paths against their floors and peers, ratios measured in one run (best of 3); fails on
# a regression. Appends to benchmarks/guard/results.jsonl and redraws docs/benchmarks/*.png.
bench-guard:
	cmake --build --preset release -j $(JOBS) --target index_benchmark schema_validate _llmkit
	bash scripts/fetch-corpus.sh $(RELEASE)/corpus.txt > /dev/null
	LLMKIT_SHARED_DIR=$(abspath ../shared) /usr/bin/python3 benchmarks/guard/bench_guard.py --build $(RELEASE)
	/usr/bin/python3 scripts/bench-charts.py

# The slow ctest entries left out of `make check`: the pip install build, the differential runs
# against npm peers, and the find_package consumer build.
SLOW_TESTS := pip_install|parity|token_chunking|tokenizer_sources|install_find_package
check: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS)
	ctest --preset release -E "$(SLOW_TESTS)"

lint:
	git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror
	/usr/bin/python3 scripts/check-layering.py

test-release:
	cmake --preset release
	cmake --build --preset release -j $(JOBS)
	LLMKIT_REQUIRE_PEERS=1 ctest --preset release

test-asan:
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan

# The multi-threaded parts under ThreadSanitizer: the transport, the call context (cancellation
# across hedges and embedding batches), every resilience decorator
# (including the 10,000-call load run), the collection's readers-beside-a-writer stress, the RAG
# pipeline, one JSON Schema validated from four threads, collections read right after Load
# beside their background verification, and the tracer's export thread.
# OMP_NUM_THREADS=1: libgomp is not instrumented, so FAISS's OpenMP workers would be false alarms.
TSAN_TESTS := curl_transport_test call_context_test retry_test fallback_test breaker_limiter_test hedging_test load_test \
  stack_stress_test collection_stress_test bm25_retriever_test rag_pipeline_test latent_model_test schema_test \
  persistence_test file_primitives_test observe_test cost_test redis_budget_test agent_test cache_test \
  semantic_cache_test eval_test
test-tsan:
	cmake --preset tsan
	cmake --build --preset tsan -j $(JOBS) --target $(TSAN_TESTS)
	for t in $(TSAN_TESTS); do OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/$$t || exit 1; done

bench: build
	bash scripts/fetch-corpus.sh build/corpus.txt
	LLMKIT_CORPUS=build/corpus.txt $(RELEASE)/benchmarks/chunker_benchmark
	$(RELEASE)/benchmarks/http_benchmark
	bash scripts/install-test-peers.sh
	LLMKIT_CORPUS=build/corpus.txt LLMKIT_TEST_RANKS_DIR=.cache/tiktoken \
	  $(RELEASE)/benchmarks/tokenizer_benchmark
	OMP_WAIT_POLICY=PASSIVE LLMKIT_SHARED_DIR=$(abspath ../shared) $(RELEASE)/benchmarks/index_benchmark
	LLMKIT_CORPUS=build/corpus.txt $(RELEASE)/benchmarks/rag_benchmark
	$(RELEASE)/benchmarks/schema_benchmark

compare: build peers
	/usr/bin/python3 benchmarks/compare/chunkers
	/usr/bin/python3 benchmarks/compare/tokenizers
	/usr/bin/python3 benchmarks/compare/clients
	/usr/bin/python3 benchmarks/compare/templates
	/usr/bin/python3 benchmarks/compare/schemas
	/usr/bin/python3 benchmarks/compare/index
	/usr/bin/python3 benchmarks/compare/retrieval_eval
	/usr/bin/python3 benchmarks/compare/rag_eval

# The full differential runs (every corpus file against tiktoken, not the sample of make test).
conformance: build peers
	cd $(RELEASE) && LLMKIT_FULL_CONFORMANCE=1 LLMKIT_REQUIRE_PEERS=1 ctest -R "tiktoken|[Tt]oken|SentenceSplitter" --output-on-failure

# libFuzzer builds need clang: make fuzz FUZZ_SECONDS=300
FUZZERS := chunker_fuzzer json_fuzzer tokenizer_fuzzer sse_fuzzer chat_response_fuzzer \
  embedding_response_fuzzer retry_after_fuzzer template_fuzzer collection_loader_fuzzer npy_fuzzer \
  bm25_snapshot_fuzzer price_table_fuzzer ledger_fuzzer latent_terms_fuzzer
FUZZ_SECONDS ?= 60
fuzz: deps
	CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DLLMKIT_BUILD_FUZZERS=ON -DLLMKIT_SANITIZE="address;undefined" -DLLMKIT_BUILD_PYTHON=OFF
	cmake --build build/fuzz -j $(JOBS) --target $(FUZZERS)
	mkdir -p build/fuzz/findings
	for target in $(FUZZERS); do \
	  cp -r tests/fuzz/corpus/$$target build/fuzz/corpus-$$target 2>/dev/null || true; \
	  build/fuzz/tests/fuzz/$$target -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build/fuzz/findings/ \
	    build/fuzz/corpus-$$target || exit 1; \
	done

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i
