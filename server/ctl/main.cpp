// main.cpp — sitemailctl: command-line parsing and dispatch to the commands in server/ctl/.
#include <algorithm>
#include <iostream>

#include "commands.hpp"
#include "pg.hpp"

namespace po = boost::program_options;
using namespace sitemail;

namespace {

// An option a command accepts, with what it means for that command (allowed values
// included): `sitemailctl COMMAND --help` prints these, and the man pages are made from it.
struct OptionHelp {
  std::string name, help;
};

struct Command {
  std::vector<std::string> path;  // {"keys", "set"}
  int min_words, max_words;
  std::vector<OptionHelp> options;  // options allowed besides the common ones
  int (*run)(CtlArgs&);
  const char* usage;
  const char* what;
  [[nodiscard]] bool allows(const std::string& name) const {
    return std::any_of(options.begin(), options.end(), [&](const OptionHelp& o) { return o.name == name; });
  }
};

const OptionHelp kSiteKeys{"site", "the site (NVTGC) whose DB keys to use; default the default site ([sites] default_site, ILL)"};
const OptionHelp kJson{"json", "print the same content as JSON"};
const OptionHelp kSubSite{"site", "the site (NVTGC) whose mail this account or network sends (required)"};
const OptionHelp kSenders{"senders", "comma-separated MAIL FROM patterns allowed: user@example.org, @example.org (that domain "
                                     "only), *@*.example.org (its subdomains only); domains case-insensitive; default any"};
const OptionHelp kMaxPerHour{"max-per-hour", "accepted messages per rolling hour, beyond it 450 4.7.1; default 0 = no limit"};
const OptionHelp kGenerate{"generate", "generate a random password and print it once instead of reading standard input"};

const std::vector<Command>& commands() {
  static const std::vector<Command> c = {
      {{"db", "migrate"}, 0, 0, {}, cmd_db_migrate, "db migrate", "create or upgrade the schema in sql/ (idempotent)"},
      {{"keys", "list"},
       0,
       0,
       {{"site", "only this site's keys; default every site"}, kJson},
       cmd_keys_list,
       "keys list [--site S] [--json]",
       "customization keys of sitemail's settings (secrets masked)"},
      {{"keys", "get"}, 1, 1, {kSiteKeys}, cmd_keys_get, "keys get KEY [--site S]", "one key as stored (secrets masked)"},
      {{"keys", "set"},
       2,
       2,
       {kSiteKeys},
       cmd_keys_set,
       "keys set KEY VALUE [--site S]",
       "validate VALUE against the catalogue, then write it under the canonical key name and spelling (removing "
       "alias/case variants); VALUE - reads it from one line of standard input. Prints the effective value and warns "
       "when a higher layer overrides it"},
      {{"keys", "unset"},
       1,
       1,
       {kSiteKeys},
       cmd_keys_unset,
       "keys unset KEY [--site S]",
       "remove a key (every spelling of it), then print the effective value"},
      {{"sites"}, 0, 0, {kJson}, cmd_sites, "sites [--json]", "every known site, where it is defined, and whether it is valid"},
      {{"check"},
       0,
       0,
       {{"site", "check only this site"}, {"strict", "warnings fail too (exit 1); also report DB keys a file hides"}, kJson},
       cmd_check,
       "check [--site S] [--strict] [--json]",
       "validate DB keys and site files; one FILE[:LINE]: SETTING: problem line each"},
      {{"show"},
       0,
       0,
       {{"site", "the site to show (required)"}, {"explain", "add the layer each value came from and what it overrode"}, kJson},
       cmd_show,
       "show --site S [--explain] [--json]",
       "the effective settings of a site"},
      {{"enqueue"},
       0,
       0,
       {{"site", "the site (required)"},
        {"to", "To addresses, comma-separated"},
        {"cc", "Cc addresses, comma-separated"},
        {"bcc", "Bcc addresses, comma-separated"},
        {"subject", "subject (one line)"},
        {"body-file", "file holding the text body"},
        {"html-file", "file holding the HTML body"},
        {"from", "sender address; default the site's EMailFromAddress"},
        {"attach", "attach file F (repeatable; type from its extension)"},
        {"inline", "attach file F inline, Content-ID = its base name (<img src=\"cid:NAME\"> in the HTML body; repeatable)"},
        {"raw", "queue file F, a complete RFC 5322 message, as it is (recipients from its To/Cc/Bcc unless --to/--cc/--bcc)"}},
       cmd_enqueue,
       "enqueue --site S --to A[,B] [--cc ..] [--bcc ..] [--subject ..] [--body-file F] [--html-file F] [--from ..] "
       "[--attach F]... [--inline F]... [--raw F]",
       "queue one message; prints its id (held at once when the site's configuration is invalid); exit 1 and nothing "
       "queued when it can never be sent (larger than the site's MaxMessageSize, a broken raw message)"},
      {{"queue"},
       0,
       0,
       {{"site", "only this site's mail"},
        {"status", "only this status: queued, held (queued but held: invalid site), sending, sent, failed, cancelled"},
        {"limit", "at most N lines, newest first (default 100; the summary counts everything that matched)"},
        {"by-site", "add one summary line per site"},
        kJson},
       cmd_queue,
       "queue [--site S] [--status ST] [--limit N] [--by-site] [--json]",
       "list mail: a header line, one line per message, a summary line of counts per status"},
      {{"queue", "show"},
       1,
       1,
       {kJson},
       cmd_queue_show,
       "queue show ID [--json]",
       "one message: envelope, headers, times, attempts, last error, SMTP reply, every recipient's state"},
      {{"queue", "retry"},
       0,
       1000,
       {{"failed", "every failed message instead of IDs"}, {"site", "with --failed: only this site"}},
       cmd_queue_retry,
       "queue retry ID... | queue retry --failed [--site S]",
       "requeue failed, cancelled or queued mail now"},
      {{"queue", "cancel"}, 1, 1000, {}, cmd_queue_cancel, "queue cancel ID...", "cancel mail that is queued or failed"},
      {{"queue", "purge"},
       0,
       0,
       {{"older-than", "required: age since queued, a number and a unit s, m, h, d or w (90m, 12h, 30d, 2w)"},
        {"status",
         "comma-separated, from sent, failed, cancelled (default sent,cancelled); queued and sending mail is never purged"},
        {"site", "only this site's mail"}},
       cmd_queue_purge,
       "queue purge --older-than DURATION [--status sent,cancelled] [--site S]",
       "delete finished mail; prints how many"},
      {{"reload"},
       0,
       0,
       {{"wait", "seconds to wait for acknowledgements (default 5)"}},
       cmd_reload,
       "reload [--wait SECONDS]",
       "ask every running sitemaild to reload DB keys and site files; prints how many acknowledged (exit 1 when none)"},
      {{"test"},
       0,
       0,
       {{"site", "the site to test (required)"},
        {"send-to", "also send a test message to ADDR"},
        {"transcript", "print the SMTP dialogue, every line of every reply (credentials redacted)"},
        {"timeout", "seconds per network operation instead of the site's Timeout (0 = none)"}},
       cmd_test,
       "test --site S [--send-to ADDR] [--transcript] [--timeout SECONDS]",
       "connect, EHLO, TLS and AUTH exactly as delivery would, then QUIT; one verdict line: OK, CONNECT_FAILED, "
       "PROXY_FAILED, TLS_FAILED, AUTH_FAILED, REJECTED, CONFIG_INVALID or FAILED; progress on stderr"},
      {{"oauth", "token"},
       0,
       0,
       {{"site", "the site whose token endpoint to ask (required)"}},
       cmd_oauth_token,
       "oauth token --site S",
       "obtain an OAuth access token exactly as delivery would; prints OK with its expiry (never the token) "
       "or AUTH_FAILED with the token endpoint's error"},
      {{"oauth", "login"},
       0,
       0,
       {{"site", "the site to log in for (required)"}},
       cmd_oauth_login,
       "oauth login --site S",
       "OAuth 2.0 device login (RFC 8628): prints the verification URL and code, waits for approval, stores the site's "
       "OAuthRefreshToken"},
      {{"web", "add"},
       1,
       1,
       {{"role", "admin (every site, the default site's keys, reload) or site (only the --site sites)"},
        {"site", "with --role site: the sites it manages, comma-separated"},
        {"generate", "generate a password and print it once instead of reading one line of standard input"}},
       cmd_web_add,
       "web add USER --role admin | web add USER --role site --site S[,S2...] [--generate]",
       "add a web console account; the password is read from one line of standard input (at least 8 characters) "
       "and stored only as a slow salted hash"},
      {{"web", "passwd"},
       1,
       1,
       {{"generate", "generate a password and print it once"}},
       cmd_web_passwd,
       "web passwd USER [--generate]",
       "change a web console account's password (one line of standard input)"},
      {{"web", "remove"}, 1, 1, {}, cmd_web_remove, "web remove USER", "remove a web console account"},
      {{"web", "list"}, 0, 0, {}, cmd_web_list, "web list", "web console accounts: name, role and sites (never a hash)"},
      // The SMTP submission door (CONTRACT §9).
      {{"submission", "add"},
       1,
       1,
       {kSubSite, kSenders, kMaxPerHour, kGenerate},
       cmd_submission_add,
       "submission add USER --site S [--senders P[,P]] [--max-per-hour N] [--generate]",
       "add an account of the SMTP submission door for site S; the password is read from one line of standard input, or "
       "generated and printed once with --generate, and stored only as a slow salted hash"},
      {{"submission", "passwd"},
       1,
       1,
       {kGenerate},
       cmd_submission_passwd,
       "submission passwd USER [--generate]",
       "set a new password for a submission account (standard input, one line, or --generate)"},
      {{"submission", "remove"}, 1, 1, {}, cmd_submission_remove, "submission remove USER", "remove a submission account"},
      {{"submission", "list"},
       0,
       0,
       {},
       cmd_submission_list,
       "submission list",
       "the submission accounts: user, site, sender patterns, messages per hour (never a hash)"},
      {{"submission", "network", "add"},
       1,
       1,
       {kSubSite, kSenders, kMaxPerHour},
       cmd_submission_network_add,
       "submission network add CIDR --site S [--senders P[,P]] [--max-per-hour N]",
       "trust a network: clients from CIDR may submit for site S without AUTH (printers, scanners, appliances)"},
      {{"submission", "network", "remove"},
       1,
       1,
       {},
       cmd_submission_network_remove,
       "submission network remove CIDR",
       "stop trusting a network"},
      {{"submission", "network", "list"},
       0,
       0,
       {},
       cmd_submission_network_list,
       "submission network list",
       "the trusted networks: CIDR, site, sender patterns, messages per hour"},
  };
  return c;
}

// `text` word-wrapped to 80 columns, every line after the first indented by `indent`.
std::string wrap(const std::string& text, std::size_t indent, std::size_t first_column) {
  std::string out, word;
  std::size_t col = first_column;
  auto flush = [&] {
    if (word.empty()) return;
    if (col > indent && col + 1 + word.size() > 80) {
      out += "\n" + std::string(indent, ' ');
      col = indent;
    } else if (col > first_column || (col > indent && !out.empty())) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    word.clear();
  };
  for (char ch : text) {
    if (ch == ' ') flush();
    else word += ch;
  }
  flush();
  return out;
}

void print_help(const po::options_description& common) {
  std::cout << "usage: sitemailctl [options] COMMAND ...\n\ncommands:\n";
  for (const auto& c : commands()) std::cout << "  " << c.usage << "\n      " << wrap(c.what, 6, 6) << "\n";
  std::cout << "\n"
            << common << "\n`sitemailctl COMMAND --help` lists the options of one command.\n"
            << "exit status: 0 success, 1 the check or action failed, 2 usage or environment error\n";
}

// `sitemailctl COMMAND --help`: its usage, what it does, then only the options it accepts
// (what each means for this command, with the allowed values), then the common options.
void print_command_help(const Command& c, const po::options_description& cmd_opts, const po::options_description& common) {
  std::cout << "usage: sitemailctl " << c.usage << "\n\n" << wrap(c.what, 0, 0) << "\n";
  if (!c.options.empty()) std::cout << "\noptions of this command:\n";
  for (const auto& o : c.options) {
    const auto* def = cmd_opts.find_nothrow(o.name, false);
    const std::string param = def ? def->format_parameter() : std::string();
    std::string head = "  --" + o.name + (param.empty() ? "" : " " + param);
    if (head.size() < 26) head.resize(26, ' ');
    else head += "\n" + std::string(26, ' ');
    std::cout << head << wrap(o.help, 26, 26) << "\n";
  }
  std::cout << "\n" << common << "\nexit status: 0 success, 1 the check or action failed, 2 usage or environment error\n";
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description common("options");
  add_common_options(common);
  po::options_description cmd_opts("command options");
  // Every command option once (parsing); what each means per command is in commands().
  auto text = [](const char* name) { return po::value<std::string>()->value_name(name); };
  cmd_opts.add_options()("site", text("S"), "site code (NVTGC)")("json", "print JSON")(
      "strict", "check: warnings fail too; also report DB keys a file hides")("explain", "show: where each value came from")(
      "send-to", text("ADDR"), "test: also send a test message")("transcript", "test: print the SMTP dialogue")(
      "timeout", text("SECONDS"), "test: seconds per network operation")("to", text("ADDRS"), "enqueue: To")(
      "cc", text("ADDRS"), "enqueue: Cc")("bcc", text("ADDRS"), "enqueue: Bcc")("subject", text("TEXT"), "enqueue: subject")(
      "body-file", text("FILE"), "enqueue: text body")("html-file", text("FILE"), "enqueue: HTML body")(
      "from", text("ADDR"), "enqueue: sender")("attach", po::value<std::vector<std::string>>()->value_name("FILE")->composing(),
                                               "enqueue: attachment (repeatable)")(
      "inline", po::value<std::vector<std::string>>()->value_name("FILE")->composing(), "enqueue: inline part (repeatable)")(
      "raw", text("FILE"), "enqueue: a complete message file")("status", text("ST"), "queue, queue purge: status filter")(
      "limit", text("N"), "queue: at most N lines")("by-site", "queue: per-site summary")(
      "failed", "queue retry: every failed message")("older-than", text("DURATION"), "queue purge: age")(
      "wait", text("SECONDS"), "reload: wait for acknowledgements")("role", text("ROLE"), "web add: admin or site")(
      "senders", text("P[,P]"), "submission: allowed MAIL FROM patterns")(
      "max-per-hour", text("N"), "submission: messages per hour")("generate",
                                                                  "web add/passwd, submission add/passwd: generate the password");
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
    if (found) print_command_help(*found, cmd_opts, common);
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
    std::string path;
    for (const auto& w : found->path) path += w + " ";
    std::cerr << "sitemailctl: usage: sitemailctl " << found->usage << " (see sitemailctl " << path << "--help)\n";
    return kExitUsage;
  }
  for (const auto& o : cmd_opts.options()) {
    const auto& name = o->long_name();
    if (args.vm.count(name) && !found->allows(name)) {
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
