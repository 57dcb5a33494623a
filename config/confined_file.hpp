// confined_file.hpp — opening the files that configuration names (file: secrets, client
// certificate stores, SslCaFile, the sstMachine folder), bounded in size, in one of two ways:
//  - unconfined (the server admin's layers: DB keys, SMTP.config, and every site file
//    unless [sites] delegate_site_files = yes): absolute names as written, relative names
//    relative to the config dir;
//  - confined (a delegated <site>.config, CONTRACT §6): relative names only, no "..", and
//    resolved beneath <config_dir>/<site>/ by the kernel at open time (openat2 with
//    RESOLVE_BENEATH), so no symbolic link can lead outside and nothing can race the check.
//    Where openat2 is unavailable every component is opened with O_NOFOLLOW instead (no
//    symbolic links at all).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sitemail {

inline constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;      // a file: secret
inline constexpr std::size_t kMaxCertFileBytes = 4 * 1024 * 1024;  // a certificate store or CA bundle
inline constexpr std::size_t kMaxCertFolderFiles = 256;            // files read from an sstMachine folder

struct FileRoot {
  std::string dir;        // base of relative names: the config dir, or <config_dir>/<site> when confined
  bool confined = false;  // names must stay beneath dir
};

struct FileRead {
  std::optional<std::string> data;  // the content, when it could be read
  std::string error;                // why not, in our words (names the path)
  std::string path;                 // the path as shown in messages
  unsigned mode = 0;                // permission bits of the file read (for "readable by others")
};

// "" when `name` may be used in a confined root, else why not (absolute, "..", empty, NUL).
[[nodiscard]] std::string confined_name_problem(std::string_view name);
// The path a name stands for under a root, for messages and unconfined opens.
[[nodiscard]] std::string path_in(const FileRoot& root, std::string_view name);
// Reads one regular file of at most max_bytes.
[[nodiscard]] FileRead read_config_file(const FileRoot& root, const std::string& name, std::size_t max_bytes);

struct FolderRead {
  std::vector<FileRead> files;  // every regular file, sorted by name (a file may carry an error)
  std::string error;            // the folder itself could not be opened
  std::string path;
};
// Reads the regular files of a folder (names starting with '.' are skipped).
[[nodiscard]] FolderRead read_config_folder(const FileRoot& root, const std::string& name, std::size_t max_bytes_each);
// "" when `name` is a folder that can be opened under the root, else why not.
[[nodiscard]] std::string folder_problem(const FileRoot& root, const std::string& name);

// Tests only: false makes confined opens take the O_NOFOLLOW walk, as on kernels without
// openat2, so both paths are tested on any machine.
void use_openat2_for_tests(bool on);

// "group or others can read or write it (mode 0644); chmod 600 PATH" when mode & 077, else "".
[[nodiscard]] std::string exposed_mode_problem(unsigned mode, const std::string& path);

}  // namespace sitemail
