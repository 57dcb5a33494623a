// mime_check.hpp — helpers of the attachment tests (CONTRACT §8) shared by test_attachments.cpp
// (aiosmtpd, smtp-sink) and test_postfix.cpp (a private Postfix): rows queued the way
// applications insert them, test content, and messages parsed back by Python's `email`
// package (peers/mime_parts.py) to compare every part byte for byte.
#pragma once
#include <openssl/evp.h>

#include <array>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "codec.hpp"
#include "daemon_fixture.hpp"
#include "text_util.hpp"

namespace sitemail::test {

inline std::string sha256(const std::string& bytes) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  return codec::hex(std::string_view(reinterpret_cast<char*>(md), n));
}

// `n` pseudo-random bytes (seeded), the first 256 of them the octets 0..255 in order.
inline std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  for (int i = 0; i < 256 && static_cast<std::size_t>(i) < n; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>(i);
  return s;
}

// One attachment row: file name, content type, disposition, content id, content ("" = NULL
// for the type and id, 'attachment' for the disposition).
using AttachmentRow = std::array<std::string, 5>;

// One message row and its attachments in one transaction, as an application inserts them.
inline long long insert_with_attachments(TestDb& db, const std::string& site, const std::string& html,
                                         const std::vector<AttachmentRow>& atts, const std::string& to = "rcpt@dest.example") {
  PgTransaction tx(db.conn());
  auto r = db.conn().exec("INSERT INTO outbox (nvtgc, to_addrs, subject, body_text, body_html) VALUES ($1, $3, 'Report', "
                          "'The report is attached.', nullif($2, '')) RETURNING id",
                          {site, html, to});
  const std::string id = r.get(0, 0);
  for (const auto& a : atts)
    db.conn().exec("INSERT INTO outbox_attachment (outbox_id, filename, content_type, disposition, content_id, content) "
                   "VALUES ($1::bigint, $2, nullif($3, ''), coalesce(nullif($4, ''), 'attachment'), nullif($5, ''), $6::bytea)",
                   {id, a[0], a[1], a[2], a[3], bytea_to_text(a[4])});
  tx.commit();
  return std::stoll(id);
}

// The JSON lines mime_parts.py prints for the message in `file`: {"headers": ...} first,
// then one line per leaf part.
inline std::vector<std::string> parts_of_file(const std::string& file) {
  auto r =
      run("/usr/bin/python3 " + std::string(SITEMAIL_SOURCE_DIR) + "/tests/integration/peers/mime_parts.py " + shell_quote(file));
  BOOST_REQUIRE_MESSAGE(r.code == 0, r.err);
  return split(r.out, '\n');
}

// The same for the message bytes `data`.
inline std::vector<std::string> parts_of(const std::string& data) {
  TempDir dir("mime");
  dir.write("msg.eml", data);
  return parts_of_file(dir.path() + "/msg.eml");
}

inline std::string part_with(const std::vector<std::string>& parts, const std::string& needle) {
  for (const auto& p : parts)
    if (p.find(needle) != std::string::npos) return p;
  BOOST_FAIL("no part with " + needle);
  return {};
}

// Waits for `what`; on a timeout the test fails with the daemon's log.
inline void wait_or_log(Daemon& d, const std::function<bool()>& ok, const std::string& what, int seconds = 30) {
  try {
    Daemon::wait_for(ok, seconds, what);
  } catch (const std::exception& e) {
    BOOST_FAIL(std::string(e.what()) + "\n" + d.log());
  }
}

inline std::string status_of(TestDb& db, long long id) {
  return db.conn()
      .exec("SELECT status || ' ' || coalesce(last_error, '') FROM outbox WHERE id = $1::bigint", {std::to_string(id)})
      .get(0, 0);
}

}  // namespace sitemail::test
