// daemon_conf.hpp — sitemaild.conf (INI, Boost.Program_options): the fixed keys of
// CONTRACT §6 plus the delivery/retry/log keys. One table (daemon_conf.cpp) lists every
// key with its default and doc; deploy/sitemaild.conf.example documents the same keys.
#pragma once
#include <string>
#include <vector>

#include "diagnostic.hpp"

namespace sitemail {

enum class SiteFilesMode { layer, replace };

struct DaemonConf {
  std::string database_url;                         // [database] url
  std::string config_dir = "/etc/sitemail";         // [sites] config_dir
  std::string default_site = "ILL";                 // [sites] default_site
  SiteFilesMode site_files = SiteFilesMode::layer;  // [sites] site_files
  bool delegate_site_files = false;                 // [sites] delegate_site_files: each site owns its <site>.config
  std::string site_env_allow;                       // [sites] site_env_allow: env: names a delegated site file may use
  std::string metrics_listen = "127.0.0.1:9465";    // [metrics] listen; empty = off
  std::string web_listen;                           // [web] listen: ADDR:PORT of the web console; empty = off
  std::string web_tls_cert;                         // [web] tls_cert: PEM certificate chain; set = HTTPS
  std::string web_tls_key;                          // [web] tls_key: PEM private key of tls_cert
  int max_connections = 100;                        // [delivery] max_connections: all sites together
  int batch_size = 200;                             // [delivery] batch_size: rows claimed per query
  int lease_seconds = 300;                          // [delivery] lease_seconds: a claim expires after this
  int poll_interval = 2;                            // [delivery] poll_interval: seconds between queue polls
  int shutdown_grace = 20;                          // [delivery] shutdown_grace: seconds to finish in-flight work
  int site_share = 50;                              // [delivery] site_share: percent of max_connections one site may hold
  int transaction_deadline = 600;  // [delivery] transaction_deadline: seconds for connection setup or one message; 0 = none
  int dead_instance_grace = 5;     // [delivery] dead_instance_grace: seconds a vanished instance keeps its claims
  int retry_initial = 60;          // [retry] initial: first backoff, seconds
  int retry_max = 3600;            // [retry] max: backoff ceiling, seconds
  int retry_give_up = 172800;      // [retry] give_up: fail a message this long after queueing
  int auth_backoff = 900;          // [retry] auth_backoff: a site after 535 waits this long
  std::string log_level = "info";  // [log] level: debug | info | warning | error
  int retention_days = 30;         // [queue] retention_days: finished mail is deleted after this; 0 = keep
  // [submission] (CONTRACT §9): the SMTP submission door; off while both listen keys are empty.
  std::string submission_listen;               // space-separated ADDR:PORT (STARTTLS when tls_cert/tls_key are set)
  std::string submission_tls_listen;           // space-separated ADDR:PORT, implicit TLS (RFC 8314)
  std::string submission_tls_cert;             // PEM certificate chain
  std::string submission_tls_key;              // PEM private key
  int submission_max_message_size = 26214400;  // octets, announced with SIZE
  int submission_max_recipients = 100;
  int submission_max_connections = 100;  // open submission connections, all listeners together
};

struct DaemonConfKey {
  std::string name;  // "sites.config_dir"
  std::string default_text;
  std::string doc;
};
[[nodiscard]] const std::vector<DaemonConfKey>& daemon_conf_keys();

// "127.0.0.1:587 [::1]:587" -> {{"127.0.0.1", 587}, {"::1", 587}}; false with `error` set on a bad entry.
struct ListenAddress {
  std::string host;
  int port = 0;
};
[[nodiscard]] bool parse_listen_list(const std::string& text, std::vector<ListenAddress>& out, std::string& error);

// Reads the INI file into `conf` (which keeps its values for keys not in the file).
// Problems name the file and line; unknown keys and bad values are errors.
[[nodiscard]] Diagnostics load_daemon_conf(const std::string& path, DaemonConf& conf);
// "" when `listen` (ADDR:PORT) names a loopback address (127.0.0.0/8, ::1, localhost),
// else why it is not one (or why it is not ADDR:PORT at all).
[[nodiscard]] std::string loopback_listen_problem(const std::string& listen, bool* is_loopback);
[[nodiscard]] Diagnostics parse_daemon_conf(const std::string& text, const std::string& label, DaemonConf& conf);

}  // namespace sitemail
