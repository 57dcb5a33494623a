// daemon_conf.cpp — sitemaild.conf parsing; see daemon_conf.hpp.
#include "daemon_conf.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "text_util.hpp"

namespace sitemail {

namespace po = boost::program_options;

namespace {

struct KeyDef {
  const char* name;
  const char* doc;
  std::function<std::string(const DaemonConf&)> get;
  std::function<std::string(DaemonConf&, const std::string&)> set;  // returns error text
};

std::function<std::string(DaemonConf&, const std::string&)> int_setter(int DaemonConf::*m, int lo, int hi) {
  return [m, lo, hi](DaemonConf& c, const std::string& v) -> std::string {
    try {
      std::size_t used = 0;
      int n = std::stoi(v, &used);
      if (used != v.size()) return "'" + v + "' is not a whole number";
      if (n < lo || n > hi) return std::to_string(n) + " is out of range " + std::to_string(lo) + "-" + std::to_string(hi);
      c.*m = n;
      return {};
    } catch (...) {
      return "'" + v + "' is not a whole number";
    }
  };
}

std::function<std::string(DaemonConf&, const std::string&)> str_setter(std::string DaemonConf::*m) {
  return [m](DaemonConf& c, const std::string& v) -> std::string {
    c.*m = v;
    return {};
  };
}

std::function<std::string(DaemonConf&, const std::string&)> listen_setter(std::string DaemonConf::*m) {
  return [m](DaemonConf& c, const std::string& v) -> std::string {
    std::vector<ListenAddress> list;
    std::string err;
    if (!parse_listen_list(v, list, err)) return err;
    c.*m = v;
    return {};
  };
}

const std::vector<KeyDef>& key_defs() {
  static const std::vector<KeyDef> defs = {
      {"database.url", "libpq conninfo or URI of the sitemail database", [](const DaemonConf& c) { return c.database_url; },
       str_setter(&DaemonConf::database_url)},
      {"sites.config_dir", "directory holding SMTP.config and <site>.config files",
       [](const DaemonConf& c) { return c.config_dir; }, str_setter(&DaemonConf::config_dir)},
      {"sites.default_site", "the site whose DB keys lie under every site (ILLiad: ILL)",
       [](const DaemonConf& c) { return c.default_site; }, str_setter(&DaemonConf::default_site)},
      {"sites.site_files", "layer: site file overrides SMTP.config per setting; replace: site file replaces it",
       [](const DaemonConf& c) { return std::string(c.site_files == SiteFilesMode::layer ? "layer" : "replace"); },
       [](DaemonConf& c, const std::string& v) -> std::string {
         if (iequals(v, "layer")) c.site_files = SiteFilesMode::layer;
         else if (iequals(v, "replace")) c.site_files = SiteFilesMode::replace;
         else return "'" + v + "' is not one of layer, replace";
         return {};
       }},
      {"sites.delegate_site_files",
       "yes: each site owns its <site>.config; paths in it stay inside <config_dir>/<site>/ and env: names "
       "are limited to sites.site_env_allow (see docs/trust-model.md)",
       [](const DaemonConf& c) { return std::string(c.delegate_site_files ? "yes" : "no"); },
       [](DaemonConf& c, const std::string& v) -> std::string {
         for (auto t : {"yes", "true", "1"})
           if (iequals(v, t)) return c.delegate_site_files = true, std::string();
         for (auto f : {"no", "false", "0"})
           if (iequals(v, f)) return c.delegate_site_files = false, std::string();
         return "'" + v + "' is not one of yes, no";
       }},
      {"sites.site_env_allow", "space-separated environment variables a delegated site file may name with env:",
       [](const DaemonConf& c) { return c.site_env_allow; }, str_setter(&DaemonConf::site_env_allow)},
      {"metrics.listen", "address:port for /metrics and /healthz; empty = off",
       [](const DaemonConf& c) { return c.metrics_listen; }, str_setter(&DaemonConf::metrics_listen)},
      {"web.listen",
       "ADDR:PORT of the web console; empty = off; without tls_cert only a loopback address (behind a reverse proxy)",
       [](const DaemonConf& c) { return c.web_listen; }, str_setter(&DaemonConf::web_listen)},
      {"web.tls_cert", "PEM certificate chain of the web console; set (with tls_key) = HTTPS",
       [](const DaemonConf& c) { return c.web_tls_cert; }, str_setter(&DaemonConf::web_tls_cert)},
      {"web.tls_key", "PEM private key of web.tls_cert", [](const DaemonConf& c) { return c.web_tls_key; },
       str_setter(&DaemonConf::web_tls_key)},
      {"delivery.max_connections", "SMTP connections open at once, all sites together",
       [](const DaemonConf& c) { return std::to_string(c.max_connections); }, int_setter(&DaemonConf::max_connections, 1, 10000)},
      {"delivery.batch_size", "outbox rows claimed per query", [](const DaemonConf& c) { return std::to_string(c.batch_size); },
       int_setter(&DaemonConf::batch_size, 1, 10000)},
      {"delivery.lease_seconds", "a claimed row returns to the queue if its owner is silent this long",
       [](const DaemonConf& c) { return std::to_string(c.lease_seconds); }, int_setter(&DaemonConf::lease_seconds, 10, 86400)},
      {"delivery.poll_interval", "seconds between queue polls (NOTIFY wakes earlier)",
       [](const DaemonConf& c) { return std::to_string(c.poll_interval); }, int_setter(&DaemonConf::poll_interval, 1, 2)},
      {"delivery.shutdown_grace", "seconds to finish in-flight work on SIGTERM before releasing it",
       [](const DaemonConf& c) { return std::to_string(c.shutdown_grace); }, int_setter(&DaemonConf::shutdown_grace, 0, 3600)},
      {"delivery.site_share", "percent of max_connections one site may hold at most (its MaxConnections counts too)",
       [](const DaemonConf& c) { return std::to_string(c.site_share); }, int_setter(&DaemonConf::site_share, 1, 100)},
      {"delivery.transaction_deadline",
       "seconds one connection setup (connect to AUTH) or one message (MAIL to the final reply) may take in all; 0 = none",
       [](const DaemonConf& c) { return std::to_string(c.transaction_deadline); },
       int_setter(&DaemonConf::transaction_deadline, 0, 86400)},
      {"delivery.dead_instance_grace", "seconds after an instance's database session ended before its claimed mail is taken over",
       [](const DaemonConf& c) { return std::to_string(c.dead_instance_grace); },
       int_setter(&DaemonConf::dead_instance_grace, 1, 25)},
      {"queue.retention_days", "sent, failed and cancelled mail older than this many days is deleted; 0 = keep forever",
       [](const DaemonConf& c) { return std::to_string(c.retention_days); }, int_setter(&DaemonConf::retention_days, 0, 36500)},
      {"retry.initial", "first retry delay after a transient failure, seconds",
       [](const DaemonConf& c) { return std::to_string(c.retry_initial); }, int_setter(&DaemonConf::retry_initial, 1, 86400)},
      {"retry.max", "retry delay ceiling, seconds (the delay doubles up to this)",
       [](const DaemonConf& c) { return std::to_string(c.retry_max); }, int_setter(&DaemonConf::retry_max, 1, 604800)},
      {"retry.give_up", "a message still failing this long after it was queued fails for good, seconds",
       [](const DaemonConf& c) { return std::to_string(c.retry_give_up); }, int_setter(&DaemonConf::retry_give_up, 60, 31536000)},
      {"retry.auth_backoff", "after a 535 the site waits this long before the next attempt, seconds",
       [](const DaemonConf& c) { return std::to_string(c.auth_backoff); }, int_setter(&DaemonConf::auth_backoff, 1, 86400)},
      {"submission.listen",
       "space-separated ADDR:PORT listeners of the SMTP submission door (STARTTLS when tls_cert and tls_key are set); "
       "empty = off",
       [](const DaemonConf& c) { return c.submission_listen; }, listen_setter(&DaemonConf::submission_listen)},
      {"submission.tls_listen",
       "space-separated ADDR:PORT listeners with implicit TLS (RFC 8314, port 465); need tls_cert and tls_key",
       [](const DaemonConf& c) { return c.submission_tls_listen; }, listen_setter(&DaemonConf::submission_tls_listen)},
      {"submission.tls_cert", "PEM file with the door's certificate (and chain)",
       [](const DaemonConf& c) { return c.submission_tls_cert; }, str_setter(&DaemonConf::submission_tls_cert)},
      {"submission.tls_key", "PEM file with the private key of tls_cert",
       [](const DaemonConf& c) { return c.submission_tls_key; }, str_setter(&DaemonConf::submission_tls_key)},
      {"submission.max_message_size", "largest message accepted, octets (announced with SIZE)",
       [](const DaemonConf& c) { return std::to_string(c.submission_max_message_size); },
       int_setter(&DaemonConf::submission_max_message_size, 1024, 1073741824)},
      {"submission.max_recipients", "recipients per message; beyond it 452 4.5.3",
       [](const DaemonConf& c) { return std::to_string(c.submission_max_recipients); },
       int_setter(&DaemonConf::submission_max_recipients, 1, 100000)},
      {"submission.max_connections", "open submission connections, all listeners together; beyond it 421",
       [](const DaemonConf& c) { return std::to_string(c.submission_max_connections); },
       int_setter(&DaemonConf::submission_max_connections, 1, 100000)},
      {"log.level", "debug, info, warning or error", [](const DaemonConf& c) { return c.log_level; },
       [](DaemonConf& c, const std::string& v) -> std::string {
         for (auto l : {"debug", "info", "warning", "error"})
           if (iequals(v, l)) {
             c.log_level = to_lower(v);
             return {};
           }
         return "'" + v + "' is not one of debug, info, warning, error";
       }},
  };
  return defs;
}

// Line of the first `key =` under `[section]` in the INI text, 0 when not found.
int find_line(const std::string& text, const std::string& dotted) {
  auto dot = dotted.find('.');
  std::string section = dot == std::string::npos ? "" : dotted.substr(0, dot);
  std::string key = dot == std::string::npos ? dotted : dotted.substr(dot + 1);
  std::string current;
  int n = 0;
  for (auto& l : split(text, '\n')) {
    ++n;
    auto t = trim(l);
    if (t.starts_with("[") && t.ends_with("]")) {
      current = std::string(trim(t.substr(1, t.size() - 2)));
      continue;
    }
    auto eq = t.find('=');
    if (eq != std::string_view::npos && current == section && trim(t.substr(0, eq)) == key) return n;
  }
  return 0;
}

}  // namespace

bool parse_listen_list(const std::string& text, std::vector<ListenAddress>& out, std::string& error) {
  out.clear();
  for (auto& item : split(text, ' ')) {
    auto t = std::string(trim(item));
    if (t.empty()) continue;
    auto colon = t.rfind(':');
    std::string host = colon == std::string::npos ? "" : t.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    std::string port = colon == std::string::npos ? "" : t.substr(colon + 1);
    int n = 0;
    bool ok = !host.empty() && !port.empty() && port.size() <= 5 &&
              std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (ok) n = std::stoi(port);
    if (!ok || n < 1 || n > 65535) {
      error = "'" + t + "' is not ADDR:PORT (e.g. 127.0.0.1:587 or [::1]:587)";
      return false;
    }
    out.push_back({host, n});
  }
  return true;
}

const std::vector<DaemonConfKey>& daemon_conf_keys() {
  static const std::vector<DaemonConfKey> keys = [] {
    std::vector<DaemonConfKey> k;
    DaemonConf d;
    for (const auto& def : key_defs()) k.push_back({def.name, def.get(d), def.doc});
    return k;
  }();
  return keys;
}

std::string loopback_listen_problem(const std::string& listen, bool* is_loopback) {
  *is_loopback = false;
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return "'" + listen + "' is not ADDR:PORT";
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
      std::stoi(port) > 65535)
    return "'" + port + "' is not a port number (1-65535)";
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host == "::1") {
    *is_loopback = true;
    return {};
  }
  int a, b, c, d;
  char extra;
  if (std::sscanf(host.c_str(), "%d.%d.%d.%d%c", &a, &b, &c, &d, &extra) == 4 && a >= 0 && a <= 255 && b >= 0 && b <= 255 &&
      c >= 0 && c <= 255 && d >= 0 && d <= 255) {
    *is_loopback = a == 127;
    return {};
  }
  if (host.find(':') != std::string::npos && host.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos) return {};
  return "'" + host + "' is not an IP address (or localhost)";
}

Diagnostics parse_daemon_conf(const std::string& text, const std::string& label, DaemonConf& conf) {
  Diagnostics out;
  auto where = [&](const std::string& key) {
    int line = find_line(text, key);
    return line ? label + ":" + std::to_string(line) : label;
  };
  po::options_description desc;
  for (const auto& d : key_defs()) desc.add_options()(d.name, po::value<std::string>());
  po::parsed_options parsed(&desc);
  try {
    std::istringstream in(text);
    parsed = po::parse_config_file(in, desc, /*allow_unregistered=*/true);
  } catch (const po::error& e) {
    out.push_back({label, "", Severity::error, e.what()});
    return out;
  }
  std::vector<std::string_view> names;
  for (const auto& d : key_defs()) names.push_back(d.name);
  for (const auto& opt : parsed.options) {
    if (opt.unregistered) {
      std::string msg = "unknown key '" + opt.string_key + "'";
      if (auto near = nearest(opt.string_key, names); !near.empty()) msg += "; did you mean " + near + "?";
      out.push_back({where(opt.string_key), opt.string_key, Severity::error, msg});
      continue;
    }
    for (const auto& d : key_defs()) {
      if (opt.string_key != d.name) continue;
      std::string v = opt.value.empty() ? std::string() : std::string(trim(opt.value.front()));
      if (auto err = d.set(conf, v); !err.empty()) out.push_back({where(d.name), d.name, Severity::error, err});
    }
  }
  // [web]: HTTPS needs both files; plain HTTP only on a loopback address (CONTRACT §10).
  if (conf.web_tls_cert.empty() != conf.web_tls_key.empty()) {
    const char* missing = conf.web_tls_cert.empty() ? "web.tls_cert" : "web.tls_key";
    const char* given = conf.web_tls_cert.empty() ? "web.tls_key" : "web.tls_cert";
    out.push_back({where(given), given, Severity::error, std::string(given) + " needs " + missing + " too"});
  }
  if (!conf.web_listen.empty()) {
    bool loopback = false;
    if (auto problem = loopback_listen_problem(conf.web_listen, &loopback); !problem.empty())
      out.push_back({where("web.listen"), "web.listen", Severity::error, problem});
    else if (!loopback && conf.web_tls_cert.empty())
      out.push_back({where("web.listen"), "web.listen", Severity::error,
                     "'" + conf.web_listen +
                         "' is not a loopback address: without web.tls_cert and web.tls_key the console "
                         "listens only on 127.0.0.1 or ::1 (put a TLS reverse proxy in front, or set tls_cert/tls_key)"});
  }
  return out;
}

Diagnostics load_daemon_conf(const std::string& path, DaemonConf& conf) {
  std::ifstream in(path);
  if (!in) return {{path, "", Severity::error, "cannot read the daemon config file"}};
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_daemon_conf(ss.str(), path, conf);
}

}  // namespace sitemail
