// fuzz_web_form.cpp — libFuzzer target for the web console's form/query decoder and router
// (server/web/form.*, router.*): any bytes as a form body and as a request target. Nothing
// may crash; a decoded form stays within kMaxFormFields and never holds a NUL byte;
// url_encode(x) decodes back to x; esc() output never holds a raw '<', '>' or quote.
// Seeds: tests/fuzz/corpus/web_form/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "form.hpp"
#include "html.hpp"
#include "router.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto f = sitemail::web::decode_form(in)) {
    if (f->fields.size() > sitemail::web::kMaxFormFields) std::abort();
    for (const auto& [k, v] : f->fields)
      if (k.find('\0') != std::string::npos || v.find('\0') != std::string::npos) std::abort();
  }
  if (in.find('\0') == std::string_view::npos) {
    auto back = sitemail::web::percent_decode(sitemail::web::url_encode(in), false);
    if (!back || *back != in) std::abort();
  }
  const auto e = sitemail::web::esc(in);
  if (e.find_first_of("<>\"'") != std::string::npos) std::abort();
  (void)sitemail::web::route("GET", in);
  (void)sitemail::web::route("POST", in);
  return 0;
}
