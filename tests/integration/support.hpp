// support.hpp — helpers for integration tests: a private database per test on the
// cluster started by deploy/pg-cluster.sh (ctest fixture), running the real programs and
// capturing stdout/stderr/exit code, temporary directories.
#pragma once
#include <string>
#include <vector>

#include "pg.hpp"

namespace sitemail::test {

struct RunResult {
  int code = -1;
  std::string out, err;
};

// Runs a shell command line; env assignments may be prefixed ("A=b prog ...").
RunResult run(const std::string& command_line);
std::string shell_quote(const std::string& s);

// The conninfo of the test cluster (from $SITEMAIL_TEST_PG_DIR/conninfo).
std::string cluster_conninfo();

// A fresh database, dropped when the object goes away.
class TestDb {
 public:
  explicit TestDb(const std::string& name);
  ~TestDb();
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;
  [[nodiscard]] const std::string& conninfo() const { return conninfo_; }
  [[nodiscard]] std::string quoted() const { return shell_quote(conninfo_); }
  PgConn& conn() { return *conn_; }
  void reconnect() { conn_ = std::make_unique<PgConn>(conninfo_); }

 private:
  std::string name_, conninfo_;
  std::unique_ptr<PgConn> conn_;
};

// Every temporary file and folder of a test process lives under one root,
// /tmp/sitemail-test.<pid>, removed when the process exits (also after failed tests); roots
// left by a process that died without exiting (SIGKILL, abort) are removed by the next test
// process, after stopping a private Postfix still running there. test_tmp_path(name) is a
// path under the root (nothing is created).
std::string test_tmp_root();
std::string test_tmp_path(const std::string& name);

class TempDir {
 public:
  explicit TempDir(const std::string& tag);  // test_tmp_path(tag), made empty
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  void write(const std::string& rel, const std::string& content) const;

 private:
  std::string path_;
};

std::string ctl();     // path of sitemailctl
std::string daemon();  // path of sitemaild
std::string slurp(const std::string& path);

}  // namespace sitemail::test
