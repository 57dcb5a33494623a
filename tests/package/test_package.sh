#!/usr/bin/env bash
# test_package.sh BUILD_DIR SOURCE_DIR — the Debian package, as an admin would receive it:
#   1. cpack -G DEB from the build dir; the control data (Depends, conffiles, maintainer
#      scripts, Maintainer), the file list (copyright, changelog, lintian overrides) and
#      lintian: no error and no warning that the package's overrides do not explain;
#   2. dpkg -x: the unit's programs exist where it says, the man pages render without
#      warnings, the packaged sitemaild.conf parses, the completions load;
#   3. as root (when sitemail is not installed already): dpkg -i on this machine, then the
#      installed files, the conffile marks, the user sitemail, /etc/sitemail permissions,
#      `systemd-analyze verify`, --help from /usr/bin and /usr/sbin, man by name, the daemon
#      reading its config as the user sitemail; then dpkg --purge (and the user removed again
#      when this test created it). Without root, step 3 is skipped with a note.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$(mktemp -d "$build/package-test.XXXXXX")
installed_by_us="" user_created_by_us=""
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
cleanup() {
  if [ -n "$installed_by_us" ]; then dpkg --purge sitemail >/dev/null 2>&1 || true; fi
  if [ -n "$user_created_by_us" ]; then
    userdel sitemail >/dev/null 2>&1 || true
    groupdel sitemail >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---- 1. build the package --------------------------------------------------------------
(cd "$build" && cpack -G DEB -B "$work" --config "$build/CPackConfig.cmake") >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; echo "FAIL: cpack -G DEB" >&2; exit 1; }
deb=$(ls "$work"/sitemail_*.deb)
ok "built $(basename "$deb")"

depends=$(dpkg-deb -f "$deb" Depends)
for dep in libpq5 libssl3 libboost-program-options1.74.0 libsystemd0 libstdc++6 libc6; do
  tr ',|' '\n\n' <<<"$depends" | awk '{print $1}' | grep -qxF "$dep" && ok "Depends: $dep" || fail "Depends lacks $dep: $depends"
done
[ "$(dpkg-deb -f "$deb" Package)" = sitemail ] || fail "package name"

dpkg-deb -e "$deb" "$work/control"
conffiles=$(cat "$work/control/conffiles" 2>/dev/null || true)
for f in /etc/sitemail/sitemaild.conf /etc/default/sitemail; do
  grep -qx "$f" <<<"$conffiles" && ok "conffile $f" || fail "$f is not a conffile: [$conffiles]"
done
[ "$(wc -l <<<"$conffiles")" = 2 ] || fail "only /etc files are conffiles: [$conffiles]"
for s in postinst prerm postrm; do
  [ -x "$work/control/$s" ] && ok "maintainer script $s" || fail "no executable $s"
done

listing=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
expect_files=(
  /usr/bin/sitemailctl /usr/sbin/sitemaild /lib/systemd/system/sitemaild.service
  /usr/lib/sysusers.d/sitemail.conf /etc/sitemail/sitemaild.conf /etc/default/sitemail
  /usr/share/man/man8/sitemailctl.8.gz /usr/share/man/man8/sitemaild.8.gz /usr/share/man/man5/sitemail-settings.5.gz
  /usr/share/bash-completion/completions/sitemailctl /usr/share/bash-completion/completions/sitemaild
  /usr/share/doc/sitemail/README.md /usr/share/doc/sitemail/interface.md
  /usr/share/doc/sitemail/copyright /usr/share/doc/sitemail/changelog.gz /usr/share/lintian/overrides/sitemail
  /usr/share/doc/sitemail/docs/configuration.md /usr/share/doc/sitemail/docs/operations.md
  /usr/share/doc/sitemail/examples/prometheus/sitemail.rules.yml
  /usr/share/doc/sitemail/examples/sitemaild.conf.example /usr/share/doc/sitemail/examples/keys.txt
  /usr/share/doc/sitemail/examples/config/ACME.config /usr/share/doc/sitemail/examples/config/SMTP.config
)
for f in "${expect_files[@]}"; do
  grep -qx "$f" <<<"$listing" && ok "contains $f" || fail "package lacks $f"
done
if grep -q '^/usr/local' <<<"$listing"; then fail "files under /usr/local"; fi
maintainer=$(dpkg-deb -f "$deb" Maintainer)
case $maintainer in
  *root@*|*@localhost*|"") fail "Maintainer is not a real contact: '$maintainer'" ;;
  *) ok "Maintainer: $maintainer" ;;
esac

# lintian (Debian's package checker): 0 errors, 0 warnings; what we keep on purpose is
# overridden in deploy/package/lintian-overrides with the reason. Informational tags pass.
if command -v lintian >/dev/null 2>&1; then
  lrc=0
  # TMPDIR: lintian leaves its ELF cache (mldbm-elf-*) behind in the temporary folder.
  TMPDIR="$work" lintian --fail-on error,warning --tag-display-limit 0 "$deb" >"$work/lintian.log" 2>&1 || lrc=$?
  case $lrc in
    0) ok "lintian: no errors, no warnings not overridden ($(grep -c '^[a-z]' "$src/deploy/package/lintian-overrides") overrides)" ;;
    1) fail "lintian: $(cat "$work/lintian.log")" ;;
    *) fail "lintian did not run (exit $lrc): $(cat "$work/lintian.log")" ;;
  esac
else
  fail "lintian is not installed (deploy/install-deps.sh installs it)"
fi

# ---- 2. the files, unpacked -------------------------------------------------------------
root="$work/root"
dpkg-deb -x "$deb" "$root"
unit="$root/lib/systemd/system/sitemaild.service"
# Every program the unit runs is in the package, where the unit says.
while read -r cmd; do
  cmd=${cmd#-}
  [ -x "$root$cmd" ] && ok "unit runs $cmd" || fail "unit runs $cmd, which the package does not hold"
done < <(sed -nE 's/^Exec(Start|StartPre|Reload)=([^ ]+).*/\2/p' "$unit" | grep -v '^/bin/kill$')
grep -q '^ExecStart=/usr/sbin/sitemaild --config /etc/sitemail/sitemaild.conf$' "$unit" || fail "ExecStart"
grep -q '^Type=notify$' "$unit" || fail "Type=notify"
grep -q '^User=sitemail$' "$unit" || fail "User=sitemail"
grep -qE '^u sitemail ' "$root/usr/lib/sysusers.d/sitemail.conf" || fail "sysusers entry"
for key in MemoryMax TasksMax LimitNOFILE LimitCORE=0 ProtectProc=invisible ProcSubset=pid WatchdogSec \
  'EnvironmentFile=-/etc/default/sitemail' 'ExecStartPre=-/usr/sbin/sitemaild --check-config'; do
  grep -q "^$key" "$unit" && ok "unit has $key" || fail "unit lacks $key"
done

render_man() {  # FILE.gz: no warnings from groff or man
  local page=$1 out
  out=$(zcat "$page" | groff -ww -man -z 2>&1)
  [ -z "$out" ] || { fail "groff warns about $(basename "$page"): $out"; return; }
  out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  [ -z "$out" ] || { fail "man warns about $(basename "$page"): $out"; return; }
  grep -q "^NAME" <<<"$(MANWIDTH=80 man -l "$page" 2>/dev/null)" && ok "man page $(basename "$page") renders" ||
    fail "man page $(basename "$page") has no NAME section"
}
for page in "$root"/usr/share/man/man*/*.gz; do render_man "$page"; done

# The packaged sitemaild.conf is valid: the tool gets past it and stops at the database.
out=$("$root/usr/bin/sitemailctl" --config "$root/etc/sitemail/sitemaild.conf" --database "host=$work/nosuchdir dbname=x" keys list 2>&1) && rc=0 || rc=$?
if [ "$rc" = 2 ] && grep -q "database" <<<"$out" && ! grep -q "sitemaild.conf" <<<"$out"; then
  ok "packaged sitemaild.conf parses"
else fail "packaged sitemaild.conf: rc=$rc $out"; fi
grep -q '^url = postgresql:///sitemail$' "$root/etc/sitemail/sitemaild.conf" || fail "packaged database url"
for c in sitemailctl sitemaild; do
  bash -c "source '$root/usr/share/bash-completion/completions/$c' && complete -p $c" >/dev/null 2>&1 &&
    ok "completion for $c loads" || fail "completion for $c"
done
words=$(bash -c "source '$root/usr/share/bash-completion/completions/sitemailctl'
  COMP_WORDS=(sitemailctl queue ''); COMP_CWORD=2; _sitemailctl; echo \"\${COMPREPLY[*]}\"")
grep -qw purge <<<"$words" && grep -qw -- --by-site <<<"$words" && ok "completion: queue words" || fail "completion: queue -> $words"

# ---- 3. installed on this machine --------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
  echo "note: not root, dpkg -i skipped (dpkg -x checks above only)"
elif dpkg-query -W -f='${Status}' sitemail 2>/dev/null | grep -q "install ok installed"; then
  echo "note: sitemail is installed on this machine already; dpkg -i skipped to leave it alone"
elif [ -e /etc/sitemail/sitemaild.conf ]; then
  echo "note: /etc/sitemail/sitemaild.conf exists (not from a package); dpkg -i skipped to leave it alone"
else
  getent passwd sitemail >/dev/null || user_created_by_us=1
  installed_by_us=1
  if ! dpkg -i "$deb" >"$work/dpkg.log" 2>&1; then
    cat "$work/dpkg.log" >&2
    fail "dpkg -i"
    exit 1
  fi
  ok "dpkg -i"
  for f in /usr/bin/sitemailctl /usr/sbin/sitemaild /lib/systemd/system/sitemaild.service \
    /usr/lib/sysusers.d/sitemail.conf /etc/sitemail/sitemaild.conf /etc/default/sitemail; do
    [ -e "$f" ] && ok "installed $f" || fail "not installed: $f"
  done
  dpkg-query -W -f='${Conffiles}\n' sitemail | grep -q '^ /etc/sitemail/sitemaild.conf [0-9a-f]\{32\}$' &&
    ok "dpkg knows the conffile" || fail "conffile not registered: $(dpkg-query -W -f='${Conffiles}' sitemail)"
  if getent passwd sitemail >/dev/null; then
    ok "user sitemail exists"
    shell=$(getent passwd sitemail | cut -d: -f7)
    case $shell in */nologin|*/false) ok "user sitemail has no login shell" ;; *) fail "sitemail shell $shell" ;; esac
    [ "$(id -u sitemail)" -lt 1000 ] && ok "sitemail is a system user" || fail "sitemail uid $(id -u sitemail)"
  else
    fail "user sitemail missing after dpkg -i"
  fi
  getent group sitemail >/dev/null && ok "group sitemail exists" || fail "group sitemail missing"
  [ "$(stat -c '%a %U:%G' /etc/sitemail)" = "750 root:sitemail" ] && ok "/etc/sitemail 750 root:sitemail" ||
    fail "/etc/sitemail is $(stat -c '%a %U:%G' /etc/sitemail)"
  [ "$(stat -c '%a %U:%G' /etc/sitemail/sitemaild.conf)" = "640 root:sitemail" ] && ok "sitemaild.conf 640 root:sitemail" ||
    fail "sitemaild.conf is $(stat -c '%a %U:%G' /etc/sitemail/sitemaild.conf)"
  # systemd-analyze verify works offline (no systemd as PID 1 needed).
  if out=$(cd / && systemd-analyze verify /lib/systemd/system/sitemaild.service 2>&1); then
    if grep -qi sitemail <<<"$out"; then fail "systemd-analyze verify: $out"; else ok "systemd-analyze verify"; fi
  else
    fail "systemd-analyze verify: $out"
  fi
  # (whole output first: `grep -q` in a pipe may close it before a long help is written, and
  # the SIGPIPE would fail the pipeline under pipefail)
  help_out=$(/usr/bin/sitemailctl --help)
  grep -q "^usage: sitemailctl" <<<"$help_out" && ok "/usr/bin/sitemailctl --help" || fail "sitemailctl --help"
  help_out=$(/usr/sbin/sitemaild --help)
  grep -q "^usage: sitemaild" <<<"$help_out" && ok "/usr/sbin/sitemaild --help" || fail "sitemaild --help"
  [ "$(/usr/sbin/sitemaild --version)" = "sitemaild $(dpkg-query -W -f='${Version}' sitemail)" ] && ok "version" ||
    fail "sitemaild --version: $(/usr/sbin/sitemaild --version)"
  # The daemon, as its user, reads the installed config and stops at the (absent) database.
  out=$(runuser -u sitemail -- /usr/sbin/sitemaild --check-config --database "host=$work/nosuchdir dbname=x" 2>&1) && rc=0 || rc=$?
  if [ "$rc" = 2 ] && grep -q "database" <<<"$out" && ! grep -q "cannot read" <<<"$out"; then
    ok "sitemaild as user sitemail reads /etc/sitemail/sitemaild.conf"
  else fail "sitemaild as sitemail: rc=$rc $out"; fi
  # man pages by name (a machine whose dpkg excludes /usr/share/man was checked in step 2).
  if [ -e /usr/share/man/man8/sitemaild.8.gz ]; then
    for p in sitemailctl sitemaild sitemail-settings; do
      out=$(MANWIDTH=80 man --warnings "$p" 2>&1 >/dev/null)
      [ -z "$out" ] && grep -q "^NAME" <<<"$(MANWIDTH=80 man "$p" 2>/dev/null)" && ok "man $p" || fail "man $p: $out"
    done
  else
    echo "note: dpkg excluded /usr/share/man on this machine (path-exclude); pages checked from dpkg -x"
  fi
  dpkg --purge sitemail >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg --purge"; }
  installed_by_us=""
  for f in /usr/bin/sitemailctl /usr/sbin/sitemaild /lib/systemd/system/sitemaild.service /etc/sitemail/sitemaild.conf /etc/sitemail; do
    [ ! -e "$f" ] && ok "purged $f" || fail "left after purge: $f"
  done
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "package: all checks passed"
