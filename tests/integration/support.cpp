// support.cpp — see support.hpp.
#include "support.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sitemail::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kRootPrefix = "sitemail-test.";

// A private Postfix instance (peers.hpp: Postfix) left running by a killed test process:
// its master's process group is killed when the pid file still names a master working in
// that instance's queue directory (its cwd), so a reused pid is never hit.
void stop_orphaned_postfix(const fs::path& root) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    if (!e.path().filename().string().starts_with("postfix_")) continue;
    const auto queue = e.path() / "queue";
    std::ifstream pid_file(queue / "pid" / "master.pid");
    long pid = 0;
    if (!(pid_file >> pid) || pid <= 1) continue;
    std::error_code ignore;
    const auto cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ignore);
    if (ignore || cwd != fs::weakly_canonical(queue, ignore)) continue;
    ::kill(-static_cast<pid_t>(pid), SIGKILL);
  }
}

// Roots of test processes that are gone (killed before they could clean up).
void sweep_stale_roots() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const auto name = e.path().filename().string();
    if (!name.starts_with(kRootPrefix)) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + std::strlen(kRootPrefix), &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive (or not ours to judge)
    stop_orphaned_postfix(e.path());
    std::error_code ignore;
    fs::remove_all(e.path(), ignore);
  }
}

struct Root {
  std::string path;
  pid_t owner;
  Root() : path((fs::temp_directory_path() / (kRootPrefix + std::to_string(getpid()))).string()), owner(getpid()) {
    sweep_stale_roots();
    fs::remove_all(path);
    fs::create_directories(path);
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);  // peers that drop to `nobody` must reach their dirs
  }
  // Runs at exit(), also when test cases failed (Boost.Test returns from main).
  ~Root() {
    if (getpid() != owner) return;  // a forked child that exits does not take the parent's files
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

Root& root() {
  static Root r;
  return r;
}

}  // namespace

std::string test_tmp_root() { return root().path; }
std::string test_tmp_path(const std::string& name) { return root().path + "/" + name; }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

RunResult run(const std::string& command_line) {
  static int counter = 0;
  const std::string base = test_tmp_path("run_" + std::to_string(++counter));
  const std::string cmd = "(" + command_line + ") >" + base + ".out 2>" + base + ".err </dev/null";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  fs::remove(base + ".out");
  fs::remove(base + ".err");
  return r;
}

std::string cluster_conninfo() {
  const char* dir = std::getenv("SITEMAIL_TEST_PG_DIR");
  if (!dir) throw std::runtime_error("SITEMAIL_TEST_PG_DIR is not set (run the tests with ctest)");
  auto c = slurp(std::string(dir) + "/conninfo");
  while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
  if (c.empty()) throw std::runtime_error("no test cluster: " + std::string(dir) + "/conninfo is missing");
  return c;
}

TestDb::TestDb(const std::string& name) : name_("t_" + name + "_" + std::to_string(getpid())) {
  const auto admin_info = cluster_conninfo();
  {
    PgConn admin(admin_info);
    admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    admin.exec("CREATE DATABASE " + name_);
  }
  conninfo_ = admin_info;
  auto p = conninfo_.find("dbname=postgres");
  conninfo_.replace(p, 15, "dbname=" + name_);
  conn_ = std::make_unique<PgConn>(conninfo_);
}

TestDb::~TestDb() {
  conn_.reset();
  try {
    PgConn admin(cluster_conninfo());
    admin.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
  }
}

TempDir::TempDir(const std::string& tag) {
  path_ = test_tmp_path(tag);
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void TempDir::write(const std::string& rel, const std::string& content) const {
  fs::path p = fs::path(path_) / rel;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string ctl() { return SITEMAIL_CTL; }
std::string daemon() { return SITEMAIL_DAEMON; }

}  // namespace sitemail::test
