// confined_file.cpp — see confined_file.hpp.
#include "confined_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "text_util.hpp"

namespace sitemail {

namespace {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string why(int err) {
  switch (err) {
    case EXDEV: return "it leads outside the site's folder (a symbolic link or '..' points elsewhere)";
    case ELOOP: return "it is or passes through a symbolic link, which is not followed here";
    default: return std::strerror(err);
  }
}

// Walks `name` beneath dirfd one component at a time with O_NOFOLLOW (no openat2).
int open_walk(int dirfd, const std::string& name, int flags) {
  auto parts = split(name, '/');
  Fd cur(::dup(dirfd));
  if (cur.fd < 0) return -1;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty() || parts[i] == ".") continue;
    const bool last = i + 1 == parts.size();
    int f = ::openat(cur.fd, parts[i].c_str(), last ? (flags | O_NOFOLLOW) : (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (f < 0) return -1;
    Fd next(f);
    std::swap(cur.fd, next.fd);
  }
  int out = cur.fd;
  cur.fd = -1;
  return out;
}

bool g_use_openat2 = true;

// Opens `name` beneath dirfd: openat2(RESOLVE_BENEATH), or the O_NOFOLLOW walk.
int open_beneath(int dirfd, const std::string& name, int flags) {
  if (!g_use_openat2) return open_walk(dirfd, name, flags);
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long r = ::syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof how);
  if (r >= 0) return static_cast<int>(r);
  if (errno != ENOSYS && errno != EPERM) return -1;
  return open_walk(dirfd, name, flags);
}

// Opens a name under a root; the root of a confined name must itself not be a symlink.
int open_in(const FileRoot& root, const std::string& name, int flags, std::string& error) {
  if (!root.confined) {
    int f = ::open(path_in(root, name).c_str(), flags);
    if (f < 0) error = std::strerror(errno);
    return f;
  }
  if (auto p = confined_name_problem(name); !p.empty()) {
    error = p;
    return -1;
  }
  Fd base(::open(root.dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (base.fd < 0) {
    error = "the site's folder " + root.dir + "/ cannot be opened: " + std::strerror(errno);
    return -1;
  }
  int f = open_beneath(base.fd, name, flags);
  if (f < 0) error = why(errno);
  return f;
}

FileRead read_fd(Fd fd, const std::string& path, std::size_t max_bytes) {
  FileRead r;
  r.path = path;
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    r.error = "cannot read " + path + ": not a regular file";
    return r;
  }
  r.mode = static_cast<unsigned>(st.st_mode & 07777);
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    r.error = path + " is " + std::to_string(st.st_size) + " bytes, more than the limit of " + std::to_string(max_bytes);
    return r;
  }
  // Back to blocking reads (O_NONBLOCK only kept a FIFO from stalling the open).
  ::fcntl(fd.fd, F_SETFL, ::fcntl(fd.fd, F_GETFL) & ~O_NONBLOCK);
  std::string data;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.error = "cannot read " + path + ": " + std::strerror(errno);
      return r;
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > max_bytes) {  // grew after the stat
      r.error = path + " is more than the limit of " + std::to_string(max_bytes) + " bytes";
      return r;
    }
  }
  r.data = std::move(data);
  return r;
}

}  // namespace

void use_openat2_for_tests(bool on) { g_use_openat2 = on; }

std::string confined_name_problem(std::string_view name) {
  if (name.empty()) return "an empty name";
  if (name.find('\0') != std::string_view::npos) return "a name with a NUL byte";
  if (name.front() == '/') return "an absolute path; a delegated site file may only name files inside its own folder";
  for (const auto& part : split(name, '/'))
    if (part == "..") return "a path with '..'; a delegated site file may only name files inside its own folder";
  return {};
}

std::string path_in(const FileRoot& root, std::string_view name) {
  if (name.empty()) return std::string(name);
  if (!root.confined && (name.front() == '/' || root.dir.empty())) return std::string(name);
  return root.dir + "/" + std::string(name);
}

FileRead read_config_file(const FileRoot& root, const std::string& name, std::size_t max_bytes) {
  const std::string path = path_in(root, name);
  std::string error;
  int f = open_in(root, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, error);
  if (f < 0) {
    FileRead r;
    r.path = path;
    r.error = "cannot read " + path + ": " + error;
    return r;
  }
  return read_fd(Fd(f), path, max_bytes);
}

FolderRead read_config_folder(const FileRoot& root, const std::string& name, std::size_t max_bytes_each) {
  FolderRead out;
  out.path = path_in(root, name);
  std::string error;
  int f = open_in(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, error);
  if (f < 0) {
    out.error = "cannot read certificate folder " + out.path + ": " + error;
    return out;
  }
  Fd dirfd(f);
  DIR* d = ::fdopendir(::dup(dirfd.fd));
  if (!d) {
    out.error = "cannot read certificate folder " + out.path + ": " + std::strerror(errno);
    return out;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  if (names.size() > kMaxCertFolderFiles) names.resize(kMaxCertFolderFiles);
  for (const auto& n : names) {
    const std::string p = out.path + "/" + n;
    const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    int ff = root.confined ? open_beneath(dirfd.fd, n, flags) : ::openat(dirfd.fd, n.c_str(), flags);
    if (ff < 0) {
      FileRead r;
      r.path = p;
      r.error = "cannot read " + p + ": " + (root.confined ? why(errno) : std::string(std::strerror(errno)));
      out.files.push_back(std::move(r));
      continue;
    }
    Fd file(ff);
    struct stat st {};
    if (::fstat(file.fd, &st) == 0 && !S_ISREG(st.st_mode)) continue;  // sub-folders are not part of the store
    out.files.push_back(read_fd(std::move(file), p, max_bytes_each));
  }
  return out;
}

std::string folder_problem(const FileRoot& root, const std::string& name) {
  std::string error;
  int f = open_in(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, error);
  if (f < 0 && errno == ENOENT) return "certificate folder " + path_in(root, name) + " does not exist";
  if (f < 0) return "certificate folder " + path_in(root, name) + " cannot be opened: " + error;
  ::close(f);
  return {};
}

std::string exposed_mode_problem(unsigned mode, const std::string& path) {
  if ((mode & 077) == 0) return {};
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return path + " can be read or written by group or others (mode " + buf + "); chmod 600 it";
}

}  // namespace sitemail
