// RFC 3986 reference resolution and JSON Pointer tokens for $id and $ref.

#include "schema/uri.h"

#include <cctype>

#include "common/percent.h"

namespace llmkit::internal::schema {
namespace {

struct Parts {
  std::optional<std::string> scheme, authority, query, fragment;
  std::string path;
};

Parts Split(std::string_view uri) {
  Parts p;
  if (size_t hash = uri.find('#'); hash != std::string_view::npos) {
    p.fragment = std::string(uri.substr(hash + 1));
    uri = uri.substr(0, hash);
  }
  if (size_t q = uri.find('?'); q != std::string_view::npos) {
    p.query = std::string(uri.substr(q + 1));
    uri = uri.substr(0, q);
  }
  size_t colon = uri.find(':');
  if (colon != std::string_view::npos && colon > 0 && std::isalpha(uri[0])) {
    bool scheme = true;
    for (size_t i = 0; i < colon; ++i) {
      char c = uri[i];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
        scheme = false;
        break;
      }
    }
    if (scheme) {
      p.scheme = std::string(uri.substr(0, colon));
      uri = uri.substr(colon + 1);
    }
  }
  if (uri.substr(0, 2) == "//") {
    uri = uri.substr(2);
    size_t slash = uri.find('/');
    p.authority = std::string(uri.substr(0, slash));
    uri = slash == std::string_view::npos ? std::string_view() : uri.substr(slash);
  }
  p.path = std::string(uri);
  return p;
}

std::string RemoveDotSegments(std::string_view path) {
  std::string out;
  while (!path.empty()) {
    if (path.substr(0, 3) == "../") {
      path.remove_prefix(3);
    } else if (path.substr(0, 2) == "./") {
      path.remove_prefix(2);
    } else if (path.substr(0, 3) == "/./") {
      path.remove_prefix(2);
    } else if (path == "/.") {
      path = "/";
    } else if (path.substr(0, 4) == "/../" || path == "/..") {
      path = path.size() == 3 ? std::string_view("/") : path.substr(3);
      size_t last = out.rfind('/');
      out.resize(last == std::string::npos ? 0 : last);
    } else if (path == "." || path == "..") {
      path = {};
    } else {
      size_t next = path.find('/', 1);
      if (next == std::string_view::npos) next = path.size();
      out.append(path.substr(0, next));
      path.remove_prefix(next);
    }
  }
  return out;
}

std::string Join(const Parts& p) {
  std::string out;
  if (p.scheme) out += *p.scheme + ":";
  if (p.authority) out += "//" + *p.authority;
  out += p.path;
  if (p.query) out += "?" + *p.query;
  if (p.fragment) out += "#" + *p.fragment;
  return out;
}

}  // namespace

std::string ResolveUri(std::string_view base, std::string_view reference) {
  Parts r = Split(reference);
  Parts b = Split(base);
  Parts t;
  if (r.scheme) {
    t = r;
    t.path = RemoveDotSegments(r.path);
  } else {
    t.scheme = b.scheme;
    if (r.authority) {
      t.authority = r.authority;
      t.path = RemoveDotSegments(r.path);
      t.query = r.query;
    } else {
      t.authority = b.authority;
      if (r.path.empty()) {
        t.path = b.path;
        t.query = r.query ? r.query : b.query;
      } else {
        if (r.path[0] == '/') {
          t.path = RemoveDotSegments(r.path);
        } else {
          std::string merged;
          if (b.authority && b.path.empty()) {
            merged = "/" + r.path;
          } else {
            size_t last = b.path.rfind('/');
            merged = (last == std::string::npos ? "" : b.path.substr(0, last + 1)) + r.path;
          }
          t.path = RemoveDotSegments(merged);
        }
        t.query = r.query;
      }
    }
    t.fragment = r.fragment;
  }
  return Join(t);
}

std::string WithoutFragment(std::string_view uri) {
  return std::string(uri.substr(0, uri.find('#')));
}

std::string FragmentOf(std::string_view uri) {
  size_t hash = uri.find('#');
  if (hash == std::string_view::npos) return "";
  return PercentDecoded(uri.substr(hash + 1));
}

std::optional<std::vector<std::string>> PointerTokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') return std::nullopt;
  pointer.remove_prefix(1);
  while (true) {
    size_t slash = pointer.find('/');
    std::string_view raw = pointer.substr(0, slash);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~') {
        if (i + 1 >= raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1')) return std::nullopt;
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        token += raw[i];
      }
    }
    tokens.push_back(std::move(token));
    if (slash == std::string_view::npos) break;
    pointer.remove_prefix(slash + 1);
  }
  return tokens;
}

void AppendPointerToken(std::string* out, std::string_view token) {
  out->push_back('/');
  for (char c : token) {
    if (c == '~') {
      out->append("~0");
    } else if (c == '/') {
      out->append("~1");
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace llmkit::internal::schema
