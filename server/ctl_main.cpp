// ctl_main.cpp — sitemailctl: command-line parsing and dispatch to ctl_*.cpp.
#include <iostream>
#include <set>

#include "ctl_commands.hpp"
#include "pg.hpp"

namespace po = boost::program_options;
using namespace sitemail;

namespace {

struct Command {
  std::vector<std::string> path;  // {"keys", "set"}
  int min_words, max_words;
  std::set<std::string> options;  // options allowed besides the common ones
  int (*run)(CtlArgs&);
  const char* usage;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> c = {
      {{"db", "migrate"}, 0, 0, {}, cmd_db_migrate, "db migrate                      create or upgrade the schema"},
      {{"keys", "list"}, 0, 0, {"site", "json"}, cmd_keys_list, "keys list [--site S] [--json]   customization keys (secrets masked)"},
      {{"keys", "get"}, 1, 1, {"site"}, cmd_keys_get, "keys get KEY [--site S]         one key"},
      {{"keys", "set"}, 2, 2, {"site"}, cmd_keys_set, "keys set KEY VALUE [--site S]   validate, then write one key"},
      {{"keys", "unset"}, 1, 1, {"site"}, cmd_keys_unset, "keys unset KEY [--site S]       remove one key"},
      {{"sites"}, 0, 0, {"json"}, cmd_sites, "sites [--json]                  every site and whether it is valid"},
      {{"check"}, 0, 0, {"site", "strict", "json"}, cmd_check, "check [--site S] [--strict] [--json]  validate the configuration"},
      {{"show"}, 0, 0, {"site", "explain", "json"}, cmd_show, "show --site S [--explain] [--json]    effective settings of a site"},
      {{"enqueue"}, 0, 0, {"site", "to", "cc", "bcc", "subject", "body-file", "html-file", "from"}, cmd_enqueue,
       "enqueue --site S --to A[,B] [--cc ..] [--bcc ..] [--subject ..] [--body-file F] [--html-file F] [--from ..]  queue one message"},
      {{"queue"}, 0, 0, {"site", "status", "limit", "json"}, cmd_queue, "queue [--site S] [--status ST] [--limit N] [--json]  list mail"},
      {{"queue", "retry"}, 0, 1000, {"failed", "site"}, cmd_queue_retry, "queue retry ID... | queue retry --failed [--site S]  requeue"},
      {{"queue", "cancel"}, 1, 1000, {}, cmd_queue_cancel, "queue cancel ID...              cancel queued mail"},
      {{"reload"}, 0, 0, {}, cmd_reload, "reload                          ask every running sitemaild to reload"},
      {{"test"}, 0, 0, {"site", "send-to", "transcript"}, cmd_test, "test --site S [--send-to ADDR] [--transcript]  connect, TLS, AUTH (and send) as delivery would"},
      {{"oauth", "token"}, 0, 0, {"site"}, cmd_oauth_token, "oauth token --site S            obtain an OAuth access token as delivery would (prints its expiry, never the token)"},
      {{"oauth", "login"}, 0, 0, {"site"}, cmd_oauth_login, "oauth login --site S            device login (RFC 8628); stores the site's OAuthRefreshToken"},
  };
  return c;
}

void print_help(const po::options_description& common) {
  std::cout << "usage: sitemailctl [options] COMMAND ...\n\ncommands:\n";
  for (const auto& c : commands()) std::cout << "  " << c.usage << "\n";
  std::cout << "\n" << common << "\nexit status: 0 success, 1 the check or action failed, 2 usage or environment error\n";
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description common("options");
  add_common_options(common);
  po::options_description cmd_opts("command options");
  cmd_opts.add_options()("site", po::value<std::string>(), "site code (NVTGC)")("json", "print JSON")(
      "strict", "check: warnings fail too")("explain", "show: where each value came from")(
      "send-to", po::value<std::string>(), "test: also send a test message to ADDR")(
      "transcript", "test: print the SMTP dialogue (credentials redacted)")(
      "to", po::value<std::string>(), "enqueue: To addresses, comma-separated")("cc", po::value<std::string>(), "enqueue: Cc")(
      "bcc", po::value<std::string>(), "enqueue: Bcc")("subject", po::value<std::string>(), "enqueue: subject")(
      "body-file", po::value<std::string>(), "enqueue: text body file")("html-file", po::value<std::string>(), "enqueue: HTML body file")(
      "from", po::value<std::string>(), "enqueue: sender address")("status", po::value<std::string>(), "queue: only this status")(
      "limit", po::value<std::string>(), "queue: at most N rows (default 100)")("failed", "queue retry: every failed message");
  po::options_description hidden;
  hidden.add_options()("words", po::value<std::vector<std::string>>(), "");
  po::options_description all;
  all.add(common).add(cmd_opts).add(hidden);
  po::positional_options_description pos;
  pos.add("words", -1);

  CtlArgs args;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), args.vm);
    po::notify(args.vm);
  } catch (const po::error& e) {
    std::cerr << "sitemailctl: " << e.what() << " (see sitemailctl --help)\n";
    return kExitUsage;
  }
  if (args.vm.count("version")) {
    std::cout << "sitemailctl " << SITEMAIL_VERSION << "\n";
    return kExitOk;
  }
  std::vector<std::string> words;
  if (args.vm.count("words")) words = args.vm["words"].as<std::vector<std::string>>();
  const Command* found = nullptr;
  for (const auto& c : commands()) {
    if (words.size() < c.path.size()) continue;
    if (std::equal(c.path.begin(), c.path.end(), words.begin())) found = &c;
  }
  if (args.vm.count("help") || words.empty()) {
    if (found) std::cout << "usage: sitemailctl " << found->usage << "\n\n" << common;
    else print_help(common);
    return words.empty() && !args.vm.count("help") ? kExitUsage : kExitOk;
  }
  if (!found) {
    std::cerr << "sitemailctl: unknown command '" << words[0] << (words.size() > 1 ? " " + words[1] : "")
              << "' (see sitemailctl --help)\n";
    return kExitUsage;
  }
  args.words.assign(words.begin() + static_cast<long>(found->path.size()), words.end());
  if (static_cast<int>(args.words.size()) < found->min_words || static_cast<int>(args.words.size()) > found->max_words) {
    std::cerr << "sitemailctl: usage: sitemailctl " << found->usage << "\n";
    return kExitUsage;
  }
  for (const auto& o : cmd_opts.options()) {
    const auto& name = o->long_name();
    if (args.vm.count(name) && !found->options.count(name)) {
      std::cerr << "sitemailctl: --" << name << " does not apply to '" << words[0] << "'\n";
      return kExitUsage;
    }
  }
  try {
    args.conf = resolve_conf(args.vm);
    return found->run(args);
  } catch (const UsageError& e) {
    std::cerr << "sitemailctl: " << e.what() << "\n";
    return kExitUsage;
  } catch (const PgError& e) {
    std::cerr << "sitemailctl: database: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "sitemailctl: " << e.what() << "\n";
    return kExitUsage;
  }
}
