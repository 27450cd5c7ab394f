// RecursiveCharacterSplitter: LangChain's recursive character splitting over byte ranges of the
// caller's text, so every chunk knows its exact offsets.
//
// The algorithm follows LangChain.js 1.0.2 `RecursiveCharacterTextSplitter._splitText` and
// `TextSplitter.mergeSplits` step for step; comments name the places where it deliberately
// differs.

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/absl_compat.h"
#include "common/find_bytes.h"
#include "llmkit/chunker.h"
#include "llmkit/status.h"
#include "re2/re2.h"
#include "unicode/utf8.h"

namespace llmkit {

struct RecursiveCharacterSplitter::State {
  SplitterOptions options;
  std::vector<std::unique_ptr<RE2>> regexes;  // One per separator when is_separator_regex.
};

size_t TextLength(std::string_view text, LengthUnit unit) {
  switch (unit) {
    case LengthUnit::kCodePoints:
      return internal::CountCodePoints(text);
    case LengthUnit::kUtf16:
      return internal::CountUtf16Units(text);
    case LengthUnit::kBytes:
      return text.size();
  }
  return text.size();
}

absl::Status ValidateUtf8(std::string_view text) { return internal::CheckUtf8(text); }

namespace {

using Ranges = std::vector<std::pair<size_t, size_t>>;
using Spans = std::vector<std::pair<size_t, size_t>>;

// The length of `text` as the options count it: the caller's function, else the unit.
size_t Measure(const SplitterOptions& options, std::string_view text) {
  if (options.length_function) return options.length_function(text);
  return TextLength(text, options.length_unit);
}

// A piece of the input: text[begin, end) and its measured length.
struct Piece {
  size_t begin;
  size_t end;
  size_t length;
};

// One Split call: the input, the options, the output as byte spans of the input.
class SplitRun {
 public:
  SplitRun(const SplitterOptions& options, const std::vector<std::unique_ptr<RE2>>& regexes,
           std::string_view text, const Ranges& protected_ranges, Spans* out)
      : options_(options), regexes_(regexes), text_(text), protected_(protected_ranges), out_(out) {
    // Recursion goes one separator further each level; the windows must never move while a
    // shallower level holds a reference to its own.
    windows_.reserve(options.separators.size() + 1);
  }

  absl::Status Run(size_t begin, size_t end) {
    SplitRange(begin, end, 0);
    return status_;
  }

 private:
  size_t Length(size_t begin, size_t end) const {
    return Measure(options_, text_.substr(begin, end - begin));
  }

  // True unless `pos` lies strictly inside a protected range.
  bool CanCutAt(size_t pos) const {
    if (protected_.empty()) return true;
    auto it = std::upper_bound(protected_.begin(), protected_.end(), pos,
                               [](size_t p, const auto& range) { return p < range.first; });
    if (it == protected_.begin()) return true;
    --it;
    return !(it->first < pos && pos < it->second);
  }

  // Finds the first cuttable occurrence of separator `index` in text[from, end) of the piece
  // text[begin, end); returns its [start, stop) or {npos, npos}.
  std::pair<size_t, size_t> Find(size_t index, size_t begin, size_t from, size_t end) const {
    constexpr size_t npos = std::string_view::npos;
    if (options_.is_separator_regex) {
      // The piece alone is the regex's context, as LangChain matches on the piece string: `^`
      // and `$` anchor at the piece's ends.
      re2::StringPiece piece(text_.data() + begin, end - begin);
      size_t pos = from - begin;
      while (pos <= piece.size()) {
        re2::StringPiece match;
        if (!regexes_[index]->Match(piece, pos, piece.size(), RE2::UNANCHORED, &match, 1)) {
          return {npos, npos};
        }
        size_t start = begin + static_cast<size_t>(match.data() - piece.data());
        if (CanCutAt(start)) return {start, start + match.size()};
        pos = start - begin + NextBoundaryStep(start, end);
      }
      return {npos, npos};
    }
    const std::string& separator = options_.separators[index];
    std::string_view haystack = text_.substr(0, end);
    for (size_t pos = from;;) {
      size_t found = internal::FindBytes(haystack, separator, pos);
      if (found == npos) break;
      if (CanCutAt(found)) return {found, found + separator.size()};
      pos = found + 1;
    }
    return {npos, npos};
  }

  size_t NextBoundaryStep(size_t pos, size_t end) const {
    if (pos >= end) return 1;
    return internal::SequenceLength(static_cast<unsigned char>(text_[pos]));
  }

  bool IsEmptySeparator(size_t index) const { return options_.separators[index].empty(); }

  // Cuts text[begin, end) at separator `index` into non-empty pieces (LangChain's
  // splitOnSeparator followed by the filter of empty strings), handing each to
  // `on_piece(b, e, length)` in order as soon as it is cut.
  template <typename OnPiece>
  void Cut(size_t begin, size_t end, size_t index, OnPiece&& on_piece) const {
    if (IsEmptySeparator(index)) {
      // One piece per code point (LangChain.js splits UTF-16 units, breaking surrogate pairs).
      size_t piece_begin = begin;
      size_t pos = begin;
      while (pos < end) {
        pos += internal::SequenceLength(static_cast<unsigned char>(text_[pos]));
        if (pos < end && !CanCutAt(pos)) continue;
        on_piece(piece_begin, pos, Length(piece_begin, pos));
        piece_begin = pos;
      }
      return;
    }
    // Code points are counted by the sweep that finds a literal separator: a piece's length is
    // then its bytes less the continuation bytes the sweep saw, with no second read.
    if (!options_.is_separator_regex && !options_.length_function &&
        options_.length_unit == LengthUnit::kCodePoints) {
      CutAtSeparator<true>(begin, end, index, on_piece);
    } else {
      CutAtSeparator<false>(begin, end, index, on_piece);
    }
  }

  // Cut at a non-empty separator. Each boundary comes with a mark: with kCounted, the number of
  // continuation bytes in text[begin, boundary); otherwise 0 and pieces are measured by Length.
  template <bool kCounted, typename OnPiece>
  void CutAtSeparator(size_t begin, size_t end, size_t index, OnPiece& on_piece) const {
    size_t piece_begin = begin, piece_mark = 0;
    auto piece = [&](size_t piece_end, size_t mark) {
      if (piece_end <= piece_begin) return;
      on_piece(piece_begin, piece_end,
               kCounted ? (piece_end - piece_begin) - (mark - piece_mark)
                        : Length(piece_begin, piece_end));
    };
    // Cuts at the separator occurrence text[start, stop).
    auto cut = [&](size_t start, size_t start_mark, size_t stop, size_t stop_mark) {
      switch (options_.keep_separator) {
        case KeepSeparator::kStart:
          // LangChain.js splits at every position where the separator begins (a look-ahead
          // split), so overlapping occurrences each cut; never at the piece's first byte.
          if (start > piece_begin) {
            piece(start, start_mark);
            piece_begin = start;
            piece_mark = start_mark;
          }
          break;
        case KeepSeparator::kEnd:
          piece(stop, stop_mark);
          piece_begin = stop;
          piece_mark = stop_mark;
          break;
        case KeepSeparator::kNone:
          piece(start, start_mark);
          piece_begin = stop;
          piece_mark = stop_mark;
          break;
      }
    };
    size_t end_mark = 0;
    if (!options_.is_separator_regex) {
      // One sweep visits every occurrence; overlapping ones cut only with kStart.
      const std::string& separator = options_.separators[index];
      const size_t separator_marks =
          kCounted ? separator.size() - internal::CountCodePoints(separator) : 0;
      const bool overlapping = options_.keep_separator == KeepSeparator::kStart;
      internal::ForEachOccurrence<kCounted>(
          text_.substr(0, end), separator, begin,
          [&](size_t start, size_t mark) {
            if (!CanCutAt(start)) return start + 1;
            cut(start, mark, start + separator.size(), mark + separator_marks);
            return overlapping ? start + 1 : start + separator.size();
          },
          &end_mark);
    } else {
      for (size_t search = begin; search <= end;) {
        auto [start, stop] = Find(index, begin, search, end);
        if (start == std::string_view::npos) break;
        cut(start, 0, stop, 0);
        // An empty match steps one code point.
        search = stop > start ? stop : start + NextBoundaryStep(start, end);
      }
    }
    piece(end, end_mark);
  }

  void SplitRange(size_t begin, size_t end, size_t first_separator) {
    if (!status_.ok()) return;
    const size_t count = options_.separators.size();
    // Choose the separator: the first one present, or "" (cut everywhere). `next` is where the
    // recursion continues for pieces still too long; npos when there is nothing finer.
    size_t chosen = count - 1;
    size_t next = std::string_view::npos;
    for (size_t i = first_separator; i < count; ++i) {
      if (IsEmptySeparator(i)) {
        chosen = i;
        break;
      }
      if (Find(i, begin, begin, end).first != std::string_view::npos) {
        chosen = i;
        // LangChain.js recurses with an empty list when the last separator was used (and then
        // cuts every UTF-16 unit); Python LangChain, like llmkit, keeps such a piece whole.
        if (i + 1 < count) next = i + 1;
        break;
      }
    }
    // LangChain joins pieces with the separator only when it was dropped from them.
    const size_t separator_length = options_.keep_separator == KeepSeparator::kNone
                                        ? Measure(options_, options_.separators[chosen])
                                        : 0;
    // Runs of pieces shorter than chunk_size are merged; longer ones are cut further. Both
    // happen as the sweep cuts each piece (measured then, while its bytes are in cache), so
    // chunks are trimmed and emitted close behind the sweep. One window per recursion depth.
    if (depth_ == windows_.size()) windows_.emplace_back();
    Window& window = windows_[depth_];
    window.Reset(separator_length);
    Cut(begin, end, chosen, [&](size_t piece_begin, size_t piece_end, size_t length) {
      Piece piece{piece_begin, piece_end, length};
      if (piece.length < options_.chunk_size) {
        MergeAdd(window, piece);
        return;
      }
      MergeFinish(window);
      if (next == std::string_view::npos) {
        Emit(piece.begin, piece.end);  // As LangChain: unsplittable, kept whole and untrimmed.
      } else {
        ++depth_;
        SplitRange(piece.begin, piece.end, next);
        --depth_;
      }
    });
    MergeFinish(window);
  }

  // The pieces of the chunk being built by LangChain's mergeSplits: pieces[head, size()) are
  // consecutive pieces worth `total`. Pieces before `head` are dropped now and then.
  struct Window {
    std::vector<Piece> pieces;
    size_t head = 0;
    size_t total = 0;
    size_t separator_length = 0;

    size_t count() const { return pieces.size() - head; }
    void Reset(size_t separator) {
      pieces.clear();
      head = total = 0;
      separator_length = separator;
    }
  };

  // LangChain's mergeSplits, one piece at a time: greedily packs pieces into chunks of at most
  // chunk_size, starting each next chunk with trailing pieces of the previous one worth at most
  // chunk_overlap. LangChain.js counts `separator_length` per piece in the chunk for the size
  // test but not for the overlap test; so does llmkit.
  void MergeAdd(Window& window, const Piece& piece) {
    const size_t size = options_.chunk_size;
    const size_t separator = window.separator_length;
    if (window.count() > 0 && window.total + piece.length + window.count() * separator > size) {
      EmitJoined(window.pieces[window.head], window.pieces.back());
      while (
          window.total > options_.chunk_overlap ||
          (window.total + piece.length + window.count() * separator > size && window.total > 0)) {
        window.total -= window.pieces[window.head].length;
        ++window.head;
      }
      if (window.head >= 64 && window.head * 2 >= window.pieces.size()) {
        window.pieces.erase(window.pieces.begin(),
                            window.pieces.begin() + static_cast<std::ptrdiff_t>(window.head));
        window.head = 0;
      }
    }
    window.pieces.push_back(piece);
    window.total += piece.length;
  }

  // Emits the chunk being built, if any, and empties the window.
  void MergeFinish(Window& window) {
    if (window.count() > 0) EmitJoined(window.pieces[window.head], window.pieces.back());
    window.Reset(window.separator_length);
  }

  // A chunk from `first` to `last` (LangChain's joinDocs: join, trim, drop if empty). The pieces
  // are adjacent in the input, so the joined text is the input span between them.
  void EmitJoined(const Piece& first, const Piece& last) {
    size_t begin = first.begin;
    size_t end = last.end;
    if (options_.strip_whitespace) {
      std::string_view span = text_.substr(begin, end - begin);
      size_t leading = internal::LeadingJsWhitespace(span);
      if (leading == span.size()) return;
      begin += leading;
      end -= internal::TrailingJsWhitespace(span.substr(leading));
    }
    if (end > begin) Emit(begin, end);
  }

  void Emit(size_t begin, size_t end) {
    if (options_.hard_limit && Length(begin, end) > options_.chunk_size) {
      HardSplit(begin, end);
      return;
    }
    out_->emplace_back(begin, end);
  }

  // Cuts an over-long chunk between code points: LangChain's merge of single code points (so the
  // overlap is kept), then, for length functions that are not additive, the longest prefix that
  // fits, repeatedly.
  void HardSplit(size_t begin, size_t end) {
    if (in_hard_split_) {
      GreedyPrefixes(begin, end);
      return;
    }
    in_hard_split_ = true;
    std::vector<Piece> pieces;
    for (size_t pos = begin; pos < end;) {
      size_t next = pos + internal::SequenceLength(static_cast<unsigned char>(text_[pos]));
      pieces.push_back({pos, next, Length(pos, next)});
      if (pieces.back().length > options_.chunk_size) {
        Fail(pos);
        break;
      }
      pos = next;
    }
    if (status_.ok()) {
      Window window;
      for (const Piece& piece : pieces) MergeAdd(window, piece);
      MergeFinish(window);
    }
    in_hard_split_ = false;
  }

  void GreedyPrefixes(size_t begin, size_t end) {
    std::vector<size_t> boundaries;  // Code point ends in (begin, end].
    for (size_t pos = begin; pos < end;) {
      pos += internal::SequenceLength(static_cast<unsigned char>(text_[pos]));
      boundaries.push_back(pos);
    }
    size_t first = 0;  // Index of the first boundary after `begin`.
    while (begin < end) {
      // Binary search for the longest prefix within chunk_size; answer in [low, high).
      size_t low = first, high = boundaries.size();
      while (high - low > 1) {
        size_t mid = (low + high) / 2;
        if (Length(begin, boundaries[mid]) <= options_.chunk_size) {
          low = mid;
        } else {
          high = mid;
        }
      }
      size_t stop = boundaries[low];
      if (Length(begin, stop) > options_.chunk_size) {
        Fail(begin);
        return;
      }
      out_->emplace_back(begin, stop);
      begin = stop;
      first = low + 1;
    }
  }

  void Fail(size_t offset) {
    status_ = WithPayload(absl::InvalidArgumentError(absl::StrCat(
                              "hard_limit: the code point at byte offset ", offset,
                              " is longer than chunk_size ", options_.chunk_size, " on its own")),
                          kPayloadByteOffset, absl::StrCat(offset));
  }

  const SplitterOptions& options_;
  const std::vector<std::unique_ptr<RE2>>& regexes_;
  std::string_view text_;
  const Ranges& protected_;
  Spans* out_;
  bool in_hard_split_ = false;
  size_t depth_ = 0;
  std::vector<Window> windows_;
  absl::Status status_;
};

// LangChain.js 1.0.2 getSeparatorsForLanguage, plus "ts" and "c" from Python LangChain.
const absl::flat_hash_map<std::string_view, std::vector<std::string>>& LanguageSeparators() {
  static const auto* table = new absl::flat_hash_map<std::string_view, std::vector<std::string>>{
      {"cpp",
       {"\nclass ", "\nvoid ", "\nint ", "\nfloat ", "\ndouble ", "\nif ", "\nfor ", "\nwhile ",
        "\nswitch ", "\ncase ", "\n\n", "\n", " ", ""}},
      {"c",
       {"\nclass ", "\nvoid ", "\nint ", "\nfloat ", "\ndouble ", "\nif ", "\nfor ", "\nwhile ",
        "\nswitch ", "\ncase ", "\n\n", "\n", " ", ""}},
      {"go",
       {"\nfunc ", "\nvar ", "\nconst ", "\ntype ", "\nif ", "\nfor ", "\nswitch ", "\ncase ",
        "\n\n", "\n", " ", ""}},
      {"java",
       {"\nclass ", "\npublic ", "\nprotected ", "\nprivate ", "\nstatic ", "\nif ", "\nfor ",
        "\nwhile ", "\nswitch ", "\ncase ", "\n\n", "\n", " ", ""}},
      {"js",
       {"\nfunction ", "\nconst ", "\nlet ", "\nvar ", "\nclass ", "\nif ", "\nfor ", "\nwhile ",
        "\nswitch ", "\ncase ", "\ndefault ", "\n\n", "\n", " ", ""}},
      {"ts",
       {"\nenum ", "\ninterface ", "\nnamespace ", "\ntype ", "\nclass ", "\nfunction ", "\nconst ",
        "\nlet ", "\nvar ", "\nif ", "\nfor ", "\nwhile ", "\nswitch ", "\ncase ", "\ndefault ",
        "\n\n", "\n", " ", ""}},
      {"php",
       {"\nfunction ", "\nclass ", "\nif ", "\nforeach ", "\nwhile ", "\ndo ", "\nswitch ",
        "\ncase ", "\n\n", "\n", " ", ""}},
      {"proto",
       {"\nmessage ", "\nservice ", "\nenum ", "\noption ", "\nimport ", "\nsyntax ", "\n\n", "\n",
        " ", ""}},
      {"python", {"\nclass ", "\ndef ", "\n\tdef ", "\n\n", "\n", " ", ""}},
      {"rst", {"\n===\n", "\n---\n", "\n***\n", "\n.. ", "\n\n", "\n", " ", ""}},
      {"ruby",
       {"\ndef ", "\nclass ", "\nif ", "\nunless ", "\nwhile ", "\nfor ", "\ndo ", "\nbegin ",
        "\nrescue ", "\n\n", "\n", " ", ""}},
      {"rust",
       {"\nfn ", "\nconst ", "\nlet ", "\nif ", "\nwhile ", "\nfor ", "\nloop ", "\nmatch ",
        "\nconst ", "\n\n", "\n", " ", ""}},
      {"scala",
       {"\nclass ", "\nobject ", "\ndef ", "\nval ", "\nvar ", "\nif ", "\nfor ", "\nwhile ",
        "\nmatch ", "\ncase ", "\n\n", "\n", " ", ""}},
      {"swift",
       {"\nfunc ", "\nclass ", "\nstruct ", "\nenum ", "\nif ", "\nfor ", "\nwhile ", "\ndo ",
        "\nswitch ", "\ncase ", "\n\n", "\n", " ", ""}},
      {"markdown",
       {"\n## ", "\n### ", "\n#### ", "\n##### ", "\n###### ", "```\n\n", "\n\n***\n\n",
        "\n\n---\n\n", "\n\n___\n\n", "\n\n", "\n", " ", ""}},
      {"latex",
       {"\n\\chapter{", "\n\\section{", "\n\\subsection{", "\n\\subsubsection{",
        "\n\\begin{enumerate}", "\n\\begin{itemize}", "\n\\begin{description}", "\n\\begin{list}",
        "\n\\begin{quote}", "\n\\begin{quotation}", "\n\\begin{verse}", "\n\\begin{verbatim}",
        "\n\\begin{align}", "$$", "$", "\n\n", "\n", " ", ""}},
      {"html", {"<body>", "<div>",   "<p>",      "<br>",   "<li>",     "<h1>",     "<h2>",
                "<h3>",   "<h4>",    "<h5>",     "<h6>",   "<span>",   "<table>",  "<tr>",
                "<td>",   "<th>",    "<ul>",     "<ol>",   "<header>", "<footer>", "<nav>",
                "<head>", "<style>", "<script>", "<meta>", "<title>",  " ",        ""}},
      {"sol", {"\npragma ",   "\nusing ",
               "\ncontract ", "\ninterface ",
               "\nlibrary ",  "\nconstructor ",
               "\ntype ",     "\nfunction ",
               "\nevent ",    "\nmodifier ",
               "\nerror ",    "\nstruct ",
               "\nenum ",     "\nif ",
               "\nfor ",      "\nwhile ",
               "\ndo while ", "\nassembly ",
               "\n\n",        "\n",
               " ",           ""}},
  };
  return *table;
}

}  // namespace

RecursiveCharacterSplitter::RecursiveCharacterSplitter(std::shared_ptr<const State> state)
    : state_(std::move(state)) {}

absl::StatusOr<RecursiveCharacterSplitter> RecursiveCharacterSplitter::Create(
    SplitterOptions options) {
  if (options.chunk_size == 0) return absl::InvalidArgumentError("chunk_size must be > 0");
  if (options.chunk_overlap >= options.chunk_size) {
    return absl::InvalidArgumentError(absl::StrCat("chunk_overlap (", options.chunk_overlap,
                                                   ") must be < chunk_size (", options.chunk_size,
                                                   ")"));
  }
  if (options.separators.empty()) {
    return absl::InvalidArgumentError("separators must not be empty");
  }
  auto state = std::make_shared<State>();
  for (size_t i = 0; i < options.separators.size(); ++i) {
    const std::string& separator = options.separators[i];
    LLMKIT_RETURN_IF_ERROR(ValidateUtf8(separator));
    if (!options.is_separator_regex) continue;
    RE2::Options re_options;
    re_options.set_log_errors(false);
    auto re = std::make_unique<RE2>(separator, re_options);
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("separator ", i, " is not a valid RE2 regex: ", re->error()));
    }
    state->regexes.push_back(std::move(re));
  }
  state->options = std::move(options);
  return RecursiveCharacterSplitter(std::move(state));
}

absl::StatusOr<std::vector<std::string>> RecursiveCharacterSplitter::SeparatorsForLanguage(
    std::string_view language) {
  const auto& table = LanguageSeparators();
  auto it = table.find(language);
  if (it == table.end()) {
    std::vector<std::string_view> names;
    for (const auto& [name, separators] : table) names.push_back(name);
    std::sort(names.begin(), names.end());
    std::string known;
    for (std::string_view name : names) {
      absl::StrAppend(&known, known.empty() ? "" : ", ", internal::ToAbsl(name));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unknown language \"", internal::ToAbsl(language), "\"; known: ", known));
  }
  return it->second;
}

absl::StatusOr<RecursiveCharacterSplitter> RecursiveCharacterSplitter::FromLanguage(
    std::string_view language, SplitterOptions options) {
  LLMKIT_ASSIGN_OR_RETURN(options.separators, SeparatorsForLanguage(language));
  options.is_separator_regex = false;
  return Create(std::move(options));
}

absl::Status RecursiveCharacterSplitter::SplitSpans(std::string_view text, size_t begin, size_t end,
                                                    const Ranges& protected_ranges,
                                                    Spans* out) const {
  if (begin >= end) return absl::OkStatus();
  return SplitRun(state_->options, state_->regexes, text, protected_ranges, out).Run(begin, end);
}

absl::Status RecursiveCharacterSplitter::SplitRange(std::string_view text, size_t begin, size_t end,
                                                    const Ranges& protected_ranges,
                                                    const Json& metadata,
                                                    std::vector<Chunk>* out) const {
  Spans spans;
  LLMKIT_RETURN_IF_ERROR(SplitSpans(text, begin, end, protected_ranges, &spans));
  out->reserve(out->size() + spans.size());
  for (auto [b, e] : spans)
    out->push_back(Chunk{std::string(text.substr(b, e - b)), b, e, metadata});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Chunk>> RecursiveCharacterSplitter::Split(std::string_view text) const {
  LLMKIT_RETURN_IF_ERROR(ValidateUtf8(text));
  static const Ranges kNoProtectedRanges;
  std::vector<Chunk> chunks;
  LLMKIT_RETURN_IF_ERROR(SplitRange(text, 0, text.size(), kNoProtectedRanges, Json(), &chunks));
  return chunks;
}

absl::StatusOr<std::vector<std::string_view>> RecursiveCharacterSplitter::SplitViews(
    std::string_view text) const {
  LLMKIT_RETURN_IF_ERROR(ValidateUtf8(text));
  static const Ranges kNoProtectedRanges;
  Spans spans;
  LLMKIT_RETURN_IF_ERROR(SplitSpans(text, 0, text.size(), kNoProtectedRanges, &spans));
  std::vector<std::string_view> views;
  views.reserve(spans.size());
  for (auto [begin, end] : spans) views.push_back(text.substr(begin, end - begin));
  return views;
}

absl::StatusOr<std::vector<std::string>> RecursiveCharacterSplitter::SplitText(
    std::string_view text) const {
  LLMKIT_ASSIGN_OR_RETURN(std::vector<std::string_view> views, SplitViews(text));
  return std::vector<std::string>(views.begin(), views.end());
}

const SplitterOptions& RecursiveCharacterSplitter::options() const { return state_->options; }

size_t RecursiveCharacterSplitter::Measure(std::string_view text) const {
  return llmkit::Measure(state_->options, text);
}

}  // namespace llmkit
