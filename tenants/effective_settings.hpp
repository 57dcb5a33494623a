// effective_settings.hpp — the resolved, immutable settings of one site: every catalogue
// setting with its typed value and provenance, plus the derived values delivery uses
// (TLS mode, proxy port, EHLO name). Built once per (re)load, shared read-only.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "catalogue.hpp"
#include "confined_file.hpp"
#include "diagnostic.hpp"
#include "value.hpp"

namespace sitemail {

enum class TlsMode { none, implicit, starttls_required, opportunistic };
[[nodiscard]] std::string_view tls_mode_name(TlsMode m);

inline constexpr const char* kBuiltinDefault = "built-in default";

// Where a value came from: one of the site's layers (an index into
// EffectiveSettings::layers, 0 = the built-in default) and the line in it (0 for a DB key).
// EffectiveSettings::where() spells it ("SMTP.config:7", "db:ACME"): 4 bytes per value
// instead of a string, and no allocation (10,000 sites hold 130,000 of them).
struct SourceRef {
  std::uint32_t line : 24 = 0;  // a site file has at most 1 MiB, so fewer lines
  std::uint32_t layer : 8 = 0;
  [[nodiscard]] static SourceRef make(std::size_t layer, int line) {
    SourceRef r;
    r.layer = static_cast<std::uint8_t>(layer) & 0xFFU;
    r.line = static_cast<std::uint32_t>(std::clamp(line, 0, 0xFFFFFF)) & 0xFFFFFFU;
    return r;
  }
  bool operator==(const SourceRef&) const = default;
};

struct OverriddenValue {
  SourceRef from;     // the lower value's layer, e.g. db:ILL
  std::string shown;  // the raw text as written (secrets masked)
};

// A list that is nearly always empty, kept in one pointer: the notes and overridden values
// of a setting (most settings of most sites have none; 10,000 sites hold 150,000 of them).
// It offers the std::vector operations the code uses, and converts to a vector.
template <class T>
class SparseList {
 public:
  SparseList() = default;
  SparseList(std::initializer_list<T> items) {
    if (items.size() > 0) v_ = std::make_unique<std::vector<T>>(items);
  }
  SparseList(const SparseList& o) : v_(o.v_ ? std::make_unique<std::vector<T>>(*o.v_) : nullptr) {}
  SparseList& operator=(const SparseList& o) {
    if (this != &o) v_ = o.v_ ? std::make_unique<std::vector<T>>(*o.v_) : nullptr;
    return *this;
  }
  SparseList(SparseList&&) noexcept = default;
  SparseList& operator=(SparseList&&) noexcept = default;
  ~SparseList() = default;

  void push_back(T item) { vec().push_back(std::move(item)); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    return vec().emplace_back(std::forward<Args>(args)...);
  }
  void clear() { v_.reset(); }
  [[nodiscard]] std::size_t size() const { return v_ ? v_->size() : 0; }
  [[nodiscard]] bool empty() const { return size() == 0; }
  const T& operator[](std::size_t i) const { return (*v_)[i]; }
  T& operator[](std::size_t i) { return (*v_)[i]; }
  const T& front() const { return v_->front(); }
  const T& back() const { return v_->back(); }
  const T* begin() const { return v_ ? v_->data() : nullptr; }
  const T* end() const { return v_ ? v_->data() + v_->size() : nullptr; }
  T* begin() { return v_ ? v_->data() : nullptr; }
  T* end() { return v_ ? v_->data() + v_->size() : nullptr; }
  operator const std::vector<T>&() const {  // NOLINT: as the std::vector it replaces
    static const std::vector<T> none;
    return v_ ? *v_ : none;
  }
  bool operator==(const SparseList& o) const {
    return static_cast<const std::vector<T>&>(*this) == static_cast<const std::vector<T>&>(o);
  }

 private:
  std::vector<T>& vec() {
    if (!v_) v_ = std::make_unique<std::vector<T>>();
    return *v_;
  }
  std::unique_ptr<std::vector<T>> v_;
};

struct SettingResolution {
  Value value;
  SourceRef from;                          // layer 0: the built-in default (see EffectiveSettings::where)
  bool valid = true;                       // false when the effective text did not parse
  SparseList<OverriddenValue> overridden;  // nearest first; the built-in default is implied last
  SparseList<std::string> notes;           // "ignored because ...", "0 means ..."
  // Set when the value came from a delegated site file: file names in it resolve only
  // beneath this folder (<config_dir>/<site>), see confined_file.hpp.
  RareText confine_to;
  [[nodiscard]] bool is_default() const { return from.layer == 0; }
};

// How the built-in default of a setting is shown among overridden values.
[[nodiscard]] std::string builtin_shown(const SettingDef& d);

// The built-in default of setting i as a resolution (value = default_value, no provenance):
// one table for the process, shared by every site.
[[nodiscard]] const SettingResolution& builtin_resolution(std::size_t i);

// One site's settings, indexed by Setting. A setting that no layer set and no rule touched
// is the shared builtin_resolution(i); the site keeps only the resolutions of its own (at
// 10,000 sites that is most of the memory a site table takes). They live in a few blocks
// that never move (the first sized by reserve(), then 4, 8, 16, ...), so a
// reference stays valid while other settings are added, and a site costs a few allocations
// instead of one per setting. Reading never allocates; the mutable operator[] first gives the
// site its own copy of the setting.
class SettingTable {
 public:
  SettingTable() { slot_.fill(0); }
  SettingTable(const SettingTable& o) : slot_(o.slot_) {
    reserve(o.count_);
    for (std::size_t k = 0; k < o.count_; ++k) *next_free() = o.item(k);
  }
  SettingTable& operator=(const SettingTable& o) {
    if (this != &o) *this = SettingTable(o);
    return *this;
  }
  SettingTable(SettingTable&& o) noexcept
      : slot_(o.slot_), blocks_(std::move(o.blocks_)), first_(std::exchange(o.first_, 0)), count_(std::exchange(o.count_, 0)) {
    o.slot_.fill(0);
  }
  SettingTable& operator=(SettingTable&& o) noexcept {
    if (this != &o) {
      slot_ = o.slot_;
      o.slot_.fill(0);
      blocks_ = std::move(o.blocks_);
      first_ = std::exchange(o.first_, 0);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  ~SettingTable() = default;

  [[nodiscard]] const SettingResolution& operator[](std::size_t i) const {
    return slot_[i] ? item(slot_[i] - 1U) : builtin_resolution(i);
  }
  SettingResolution& operator[](std::size_t i) {
    if (!slot_[i]) {
      *next_free() = builtin_resolution(i);
      slot_[i] = static_cast<std::uint8_t>(count_);
    }
    return item(slot_[i] - 1U);
  }
  // Room for n own settings in the first block (a hint, before the first setting is added).
  void reserve(std::size_t n) {
    if (first_ == 0) first_ = static_cast<std::uint8_t>(std::clamp<std::size_t>(n, 1, kSettingCount));
  }
  [[nodiscard]] static constexpr std::size_t size() { return kSettingCount; }

 private:
  static_assert(kSettingCount < 255);
  static constexpr std::size_t kMinBlock = 4;
  static constexpr std::size_t kBlocks = 6;  // first (reserved), then 4, 8, 16, 32, 64
  static_assert(kMinBlock * ((1U << (kBlocks - 1)) - 1) >= kSettingCount);

  [[nodiscard]] std::size_t capacity(std::size_t b) const { return b == 0 ? first_ : kMinBlock << (b - 1); }
  SettingResolution* next_free() {  // own setting number count_, counted in
    if (first_ == 0) first_ = kMinBlock;
    std::size_t k = count_++;
    for (std::size_t b = 0;; ++b) {
      if (k < capacity(b)) {
        if (!blocks_[b]) blocks_[b] = std::make_unique<SettingResolution[]>(capacity(b));
        return &blocks_[b][k];
      }
      k -= capacity(b);
    }
  }
  [[nodiscard]] const SettingResolution& item(std::size_t k) const {
    for (std::size_t b = 0;; ++b) {
      if (k < capacity(b)) return blocks_[b][k];
      k -= capacity(b);
    }
  }
  SettingResolution& item(std::size_t k) { return const_cast<SettingResolution&>(std::as_const(*this).item(k)); }

  std::array<std::uint8_t, kSettingCount> slot_;                      // 0 = built-in, else own setting number slot - 1
  std::array<std::unique_ptr<SettingResolution[]>, kBlocks> blocks_;  // allocated when first used, never moved
  std::uint8_t first_ = 0;                                            // capacity of blocks_[0] (0: not yet chosen)
  std::uint8_t count_ = 0;                                            // own settings
};

struct EffectiveSettings {
  std::string site;
  SettingTable settings;
  std::vector<std::string> layers;  // labels of the layers read, lowest first ([0]: the built-in default)
  std::vector<std::string> notes;   // site-level notes (e.g. SMTP.config skipped in replace mode)
  std::string home;                 // where a problem of a defaulted setting is reported: the site file, else db:<site>
  bool explained = true;            // overridden values and notes kept (ResolveEnv::explain)

  // Derived values
  TlsMode tls = TlsMode::none;
  std::uint16_t port = 25;
  std::uint16_t firewall_port = 0;  // effective proxy port (0 only when no proxy)
  std::string helo;                 // EHLO/HELO argument

  [[nodiscard]] const SettingResolution& at(Setting s) const { return settings[static_cast<std::size_t>(s)]; }
  // "SMTP.config:7", "db:ACME", ...; "" for the built-in default.
  [[nodiscard]] std::string where(const SourceRef& from) const {
    if (from.layer == 0 || from.layer >= layers.size()) return {};
    const auto& label = layers[from.layer];
    return from.line > 0 ? label + ":" + std::to_string(from.line) : label;
  }
  [[nodiscard]] std::string where(Setting s) const { return where(at(s).from); }
  // where(), or "built-in default".
  [[nodiscard]] std::string source(const SourceRef& from) const {
    return from.layer == 0 ? std::string(kBuiltinDefault) : where(from);
  }
  [[nodiscard]] std::string source(Setting s) const { return source(at(s).from); }
  [[nodiscard]] const Value& get(Setting s) const { return at(s).value; }
  [[nodiscard]] const std::string& text(Setting s) const { return get(s).text; }
  [[nodiscard]] std::int64_t number(Setting s) const { return get(s).number; }
  [[nodiscard]] bool flag(Setting s) const { return get(s).flag(); }
  // The root file names in setting s resolve against: confined to the site's folder when
  // the value came from a delegated site file, else the config dir.
  [[nodiscard]] FileRoot file_root(Setting s, const std::string& config_dir) const {
    const auto& r = at(s);
    return r.confine_to.empty() ? FileRoot{config_dir, false} : FileRoot{r.confine_to.str(), true};
  }
};

struct ResolvedSite {
  std::string site;
  std::vector<std::string> defined_in;  // "db", "outbox", "ACME.config", "(defaults only)"
  Diagnostics diagnostics;
  bool valid = false;
  std::shared_ptr<const EffectiveSettings> settings;
  std::string route;  // connection_route(*settings): sites with equal routes share connections

  [[nodiscard]] const Diagnostic* first_error() const {
    for (const auto& d : diagnostics)
      if (d.is_error()) return &d;
    return nullptr;
  }
};

}  // namespace sitemail
