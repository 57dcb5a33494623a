// gen_docs.cpp — sitemail-gendocs: regenerate (--update) or verify (--check) the generated
// parts of the documentation (docs/man_sections.hpp) in a source tree.
//   build/docs/sitemail-gendocs --update .    after changing the catalogue or sitemaild.conf keys
#include <fstream>
#include <iostream>
#include <sstream>

#include "man_sections.hpp"

int main(int argc, char** argv) {
  std::string mode = argc == 3 ? argv[1] : "";
  if (mode != "--check" && mode != "--update") {
    std::cerr << "usage: sitemail-gendocs --check|--update SOURCE_DIR\n"
                 "  rewrites or verifies the generated parts of docs/configuration.md, docs/man/sitemail-settings.5\n"
                 "  and docs/man/sitemaild.8 (exit 1 when --check finds a stale copy)\n";
    return 2;
  }
  const std::string root = argv[2];
  int stale = 0;
  for (const auto& s : sitemail::docs::generated_sections()) {
    std::string path = root + "/" + s.file;
    std::ifstream in(path);
    if (!in) {
      std::cerr << "sitemail-gendocs: cannot read " << path << "\n";
      return 2;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    auto current = sitemail::docs::between_markers(ss.str(), s);
    if (!current) {
      std::cerr << "sitemail-gendocs: " << path << ": marker line '" << s.begin << "' or '" << s.end << "' missing\n";
      return 2;
    }
    if (*current == s.content) continue;
    if (mode == "--check") {
      std::cerr << "sitemail-gendocs: " << path << " is stale (run sitemail-gendocs --update)\n";
      ++stale;
      continue;
    }
    std::ofstream out(path);
    out << *sitemail::docs::with_section(ss.str(), s);
    if (!out) {
      std::cerr << "sitemail-gendocs: cannot write " << path << "\n";
      return 2;
    }
    std::cout << "updated " << s.file << "\n";
  }
  return stale ? 1 : 0;
}
