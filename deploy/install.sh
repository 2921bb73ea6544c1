#!/usr/bin/env bash
# Install or upgrade ftp-server as a systemd service on Ubuntu/Debian or
# Amazon Linux 2023. Run as root from a checkout at /opt/ftp-server:
#
#   sudo /opt/ftp-server/deploy/install.sh
#
# Safe to run again (that is how upgrades work): it never overwrites an
# existing config, users file or certificate, and restarts the service
# (a graceful drain) at the end. Settings, all optional, as environment
# variables:
#
#   NODE_MAJOR=22        Node.js line to install when node is missing or older than 20
#   FTP_PORT=5002        the one port clients use (written to a new config only)
#   ADMIN_PORT=9102      admin endpoint on 127.0.0.1 (written to a new config only)
#   FIRST_USER=admin     account created on first install ("" for none)
#   SETUP_TLS=yes        make a self-signed certificate on first install ("no" to skip)
#   TLS_HOSTS="..."      names/IPs for that certificate (default: EC2 public name and IP)
set -euo pipefail

APP=/opt/ftp-server
DATA=/srv/ftp-server
CONF=/etc/ftp-server
STATE=/var/lib/ftp-server
LOGS=/var/log/ftp-server
NODE_MAJOR="${NODE_MAJOR:-22}"
FTP_PORT="${FTP_PORT:-5002}"
ADMIN_PORT="${ADMIN_PORT:-9102}"
FIRST_USER="${FIRST_USER-admin}"
SETUP_TLS="${SETUP_TLS:-yes}"

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
[ -f "$APP/package.json" ] || die "expected the checkout at $APP"
# shellcheck source=/dev/null
. /etc/os-release

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# --- Node.js -----------------------------------------------------------------
NODE_BIN="$(command -v node || command -v "node-$NODE_MAJOR" || true)"
if [ -z "$NODE_BIN" ] || [ "$(node_major "$NODE_BIN")" -lt 20 ]; then
  say "Installing Node.js $NODE_MAJOR"
  case "$ID" in
    ubuntu|debian)
      # The distribution's nodejs is too old (Ubuntu 24.04 ships 18): use NodeSource.
      apt-get update -q
      apt-get install -y -q ca-certificates curl
      curl -fsSL "https://deb.nodesource.com/setup_${NODE_MAJOR}.x" -o /tmp/nodesource_setup.sh
      bash /tmp/nodesource_setup.sh
      apt-get install -y -q nodejs
      ;;
    amzn)
      # AL2023 ships namespaced packages (node-22, npm-22) behind `alternatives`.
      dnf install -y -q "nodejs${NODE_MAJOR}" "nodejs${NODE_MAJOR}-npm"
      ;;
    *) die "unsupported distribution '$ID': install Node.js >= 20 yourself, then run this again" ;;
  esac
  NODE_BIN="$(command -v node || command -v "node-$NODE_MAJOR")"
fi
NPM_BIN="$(command -v npm || command -v "npm-$NODE_MAJOR")" || die "npm not found"
say "Using $NODE_BIN ($("$NODE_BIN" --version)) and $NPM_BIN"

# --- User and folders --------------------------------------------------------
if ! id ftp-server >/dev/null 2>&1; then
  say "Creating the system user ftp-server"
  useradd --system --user-group --home-dir "$STATE" --no-create-home \
    --shell "$(command -v nologin || echo /usr/sbin/nologin)" ftp-server
fi
install -d -o ftp-server -g ftp-server -m 0750 "$DATA" "$DATA/files" "$LOGS" "$STATE"
install -d -o root -g ftp-server -m 0750 "$CONF"

# --- Build -------------------------------------------------------------------
say "npm ci (builds dist/), then drop the dev dependencies"
cd "$APP"
# The build needs TypeScript (a dev dependency): no NODE_ENV=production here.
env -u NODE_ENV PATH="$(dirname "$NODE_BIN"):$PATH" "$NPM_BIN" ci --no-audit --no-fund
env -u NODE_ENV PATH="$(dirname "$NODE_BIN"):$PATH" "$NPM_BIN" prune --omit=dev --no-audit --no-fund
[ -f "$APP/dist/cli/server-cli.js" ] || die "the build did not produce dist/cli/server-cli.js"
chown -R root:root "$APP"
chmod -R go-w "$APP"

ftp() { "$NODE_BIN" "$APP/bin/ftp-server.js" "$@"; }

# --- TLS and the first account (first install only) ---------------------------
if [ "$SETUP_TLS" = yes ] && [ ! -f "$CONF/tls/cert.pem" ]; then
  if [ -z "${TLS_HOSTS:-}" ]; then
    # IMDSv2: the names clients will use to reach this instance.
    TOKEN="$(curl -fsS -m 2 -X PUT http://169.254.169.254/latest/api/token \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' 2>/dev/null || true)"
    meta() {
      if [ -n "$TOKEN" ]; then
        curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $TOKEN" "http://169.254.169.254/latest/meta-data/$1" 2>/dev/null || true
      fi
    }
    TLS_HOSTS="$(meta public-hostname) $(meta public-ipv4) $(hostname -f) localhost 127.0.0.1"
  fi
  host_args=()
  for h in $TLS_HOSTS; do host_args+=(--host "$h"); done
  say "Self-signed certificate for: $TLS_HOSTS"
  ftp cert --out "$CONF/tls" "${host_args[@]}"
  chgrp ftp-server "$CONF/tls" "$CONF/tls/cert.pem" "$CONF/tls/key.pem"
  chmod 0750 "$CONF/tls"
  chmod 0640 "$CONF/tls/key.pem"
  chmod 0644 "$CONF/tls/cert.pem"
fi
if [ -n "$FIRST_USER" ] && [ ! -f "$STATE/users.json" ]; then
  say "Creating the account '$FIRST_USER' (password in /root/ftp-server-credentials)"
  PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  ( umask 077; printf 'user: %s\npassword: %s\n' "$FIRST_USER" "$PASSWORD" > /root/ftp-server-credentials )
  # As the service user: the users file is its state, rewritten atomically in $STATE.
  printf '%s\n' "$PASSWORD" | runuser -u ftp-server -- "$NODE_BIN" "$APP/bin/ftp-server.js" \
    user add "$FIRST_USER" --users "$STATE/users.json" --password-stdin --perms all --home /
  unset PASSWORD
fi

# --- Config (never overwritten) ----------------------------------------------
if [ ! -f "$CONF/ftp-server.json" ]; then
  say "Writing $CONF/ftp-server.json"
  USERS_FILE="" TLS_DIR=""
  [ -f "$STATE/users.json" ] && USERS_FILE="$STATE/users.json"
  [ -f "$CONF/tls/cert.pem" ] && TLS_DIR="$CONF/tls"
  FTP_PORT="$FTP_PORT" ADMIN_PORT="$ADMIN_PORT" USERS_FILE="$USERS_FILE" TLS_DIR="$TLS_DIR" DATA="$DATA" LOGS="$LOGS" \
    "$NODE_BIN" -e '
      const e = process.env;
      const c = { host: "0.0.0.0", port: Number(e.FTP_PORT), root: e.DATA + "/files", "log-dir": e.LOGS,
                  "admin-port": Number(e.ADMIN_PORT), "admin-host": "127.0.0.1" };
      if (e.USERS_FILE) c.users = e.USERS_FILE;
      if (e.TLS_DIR) { c["tls-cert"] = e.TLS_DIR + "/cert.pem"; c["tls-key"] = e.TLS_DIR + "/key.pem"; }
      process.stdout.write(JSON.stringify(c, null, 2) + "\n");' > "$CONF/ftp-server.json.new"
  chown root:ftp-server "$CONF/ftp-server.json.new"
  chmod 0640 "$CONF/ftp-server.json.new"
  mv "$CONF/ftp-server.json.new" "$CONF/ftp-server.json"
fi
# Refuse to (re)start on a config the new version rejects.
runuser -u ftp-server -- "$NODE_BIN" "$APP/bin/ftp-server.js" --config "$CONF/ftp-server.json" --print-config >/dev/null \
  || die "$CONF/ftp-server.json is not valid for this version (see the message above)"

# --- systemd -----------------------------------------------------------------
install -m 0644 "$APP/deploy/ftp-server.service" /etc/systemd/system/ftp-server.service
if [ "$NODE_BIN" != /usr/bin/node ]; then
  # The unit runs /usr/bin/node; point it at the node found here instead.
  install -d /etc/systemd/system/ftp-server.service.d
  printf '[Service]\nExecStart=\nExecStart=%s %s/bin/ftp-server.js --config %s/ftp-server.json\n' \
    "$NODE_BIN" "$APP" "$CONF" > /etc/systemd/system/ftp-server.service.d/node.conf
fi
systemctl daemon-reload
systemctl enable ftp-server >/dev/null
say "Restarting ftp-server (transfers in flight get the shutdown grace to finish)"
systemctl restart ftp-server

ADMIN="$(runuser -u ftp-server -- "$NODE_BIN" -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (c["admin-port"]) process.stdout.write(String(c["admin-port"]));' "$CONF/ftp-server.json")"
if [ -n "$ADMIN" ]; then
  for _ in $(seq 1 30); do
    if curl -fsS -m 2 "http://127.0.0.1:$ADMIN/healthz" >/dev/null 2>&1; then
      say "Healthy: $(ftp status --admin-port "$ADMIN" | head -1)"
      exit 0
    fi
    sleep 1
  done
  systemctl --no-pager status ftp-server || true
  die "no healthy answer on 127.0.0.1:$ADMIN within 30 s: journalctl -u ftp-server -n 50"
fi
systemctl --no-pager --lines=5 status ftp-server
