// rare_text.hpp — RareText: a string that is nearly always empty, kept in one pointer (8
// bytes where a std::string takes 32). Used for the parts of a resolved setting only a few
// sites have (a secret's env:/file: indirection, a delegated file's confining folder): at
// 10,000 sites with ~15 settings of their own each, that is several MiB of a site table.
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace sitemail {

class RareText {
 public:
  RareText() = default;
  RareText(std::string s) { *this = std::move(s); }  // NOLINT: as the std::string it replaces
  RareText(const RareText& o) : p_(o.p_ ? std::make_unique<std::string>(*o.p_) : nullptr) {}
  RareText(RareText&&) noexcept = default;
  RareText& operator=(const RareText& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<std::string>(*o.p_) : nullptr;
    return *this;
  }
  RareText& operator=(RareText&&) noexcept = default;
  RareText& operator=(std::string s) {
    p_ = s.empty() ? nullptr : std::make_unique<std::string>(std::move(s));
    return *this;
  }
  ~RareText() = default;

  [[nodiscard]] const std::string& str() const {
    static const std::string none;
    return p_ ? *p_ : none;
  }
  operator std::string_view() const { return str(); }  // NOLINT: as the std::string it replaces
  [[nodiscard]] bool empty() const { return !p_; }
  bool operator==(const RareText& o) const { return str() == o.str(); }
  friend bool operator==(const RareText& a, const std::string& b) { return a.str() == b; }
  friend bool operator==(const RareText& a, const char* b) { return a.str() == b; }
  friend std::ostream& operator<<(std::ostream& os, const RareText& t) { return os << t.str(); }

 private:
  std::unique_ptr<std::string> p_;
};

}  // namespace sitemail
