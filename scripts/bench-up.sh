#!/usr/bin/env bash
# Bring up the real build bench on a Debian 12 (bookworm) machine, as root, idempotently:
#
#   - Docker Engine 26.1 + containerd 1.7 + buildx 0.13 from Debian trixie, unpacked into a
#     private prefix (nothing is installed or upgraded from trixie), the containerd image store on;
#   - QEMU user-mode emulation registered with binfmt_misc;
#   - two local CNCF registries: 127.0.0.1:5000 (no auth) and 127.0.0.1:5001 (htpasswd auth);
#   - the base images that no registry can serve here, built locally and pushed to :5000:
#       127.0.0.1:5000/mirror/golang:1.26      (the machine's Go toolchain, linux/amd64)
#       127.0.0.1:5000/mirror/static:nonroot   (a distroless-static stand-in, 8 platforms)
#   - today's buildx and BuildKit next to Debian's (scripts/bench/current.sh, compiled once from
#     their Go modules and cached): a second buildx plugin that tests select with a DOCKER_CONFIG,
#     and 127.0.0.1:5000/mirror/buildkit:<v> for docker-container builders
#   - an SBOM scanner image (scripts/bench/sbom-scanner.sh: syft compiled once from its Go module,
#     and our glue for BuildKit's SBOM generator protocol): 127.0.0.1:5000/mirror/sbom-scanner:<v>
#
# A second run only checks. A Docker engine that already answers, with buildx, is reused as it is.
# See /work/shared/engine-notes.md for why it is done this way.
#
# Usage:
#   scripts/bench-up.sh            bring everything up (or check that it is up), print a status
#   scripts/bench-up.sh --check    only verify; exit 0 when everything is up, 1 otherwise
#   scripts/bench-up.sh --status   print the status only
#   scripts/bench-up.sh --verify   after bring-up, run the end-to-end checks (scripts/bench/verify.sh)
#   scripts/bench-up.sh --stop     stop the daemons and registries this script started
#
# Environment (all optional):
#   GIA_REGISTRY_USER, GIA_REGISTRY_PASSWORD   credentials of 127.0.0.1:5001 (gia-test / gia-test-password)
#   GIA_BENCH_PREFIX   where the trixie packages are unpacked            (/opt/gia-bench)
#   GIA_BENCH_STATE    registry storage, credentials, generated files    (/var/lib/gia-bench)
#   GIA_BENCH_LOGS     daemon and registry logs                          (/var/log/gia-bench)
#   GIA_GOROOT         the Go toolchain copied into the golang image     (go env GOROOT, /usr/local/go)
#
# Files for callers (KEY=VALUE lines, safe to `source` or parse):
#   $GIA_BENCH_STATE/bench.env           registries, mirror image names, versions
#   $GIA_BENCH_STATE/registry-auth.env   GIA_REGISTRY_AUTH_HOST, GIA_REGISTRY_USER, GIA_REGISTRY_PASSWORD
#   $GIA_BENCH_STATE/current.env         GIA_BUILDX_CURRENT (the plugin binary), GIA_BUILDKIT_IMAGE, versions
#   $GIA_BENCH_STATE/sbom-scanner.env    GIA_SBOM_SCANNER_IMAGE, GIA_SYFT_VERSION
# Callers need nothing on PATH beyond the usual: `docker` is the CLI on PATH (the machine's
# /usr/local/bin/docker, or a link to the unpacked trixie CLI when there is none), and buildx is
# linked where every Docker CLI looks for plugins, whatever DOCKER_CONFIG is.
# Keep GIA_REGISTRY_PASSWORD to letters, digits and -._ so that registry-auth.env stays sourceable.
#
# Notes (verified on the bench, see scripts/bench/verify.sh):
#   - Builds use the `default` builder (driver `docker`); its RUN steps run on the host network,
#     so `go mod download` inside a build reaches the Go module proxy. `docker run` uses the
#     default bridge network (NAT through iptables-nft) and reaches it too; -p publishing works.
#   - A `docker-container` builder needs --driver-opt image=127.0.0.1:5000/mirror/buildkit:<v>:
#     moby/buildkit is on Docker Hub, which cannot be reached.
#   - Foreign platforms run through qemu-user-static (binfmt F flag), in `docker run` and in RUN steps.
set -Eeuo pipefail

PREFIX=${GIA_BENCH_PREFIX:-/opt/gia-bench}
STATE=${GIA_BENCH_STATE:-/var/lib/gia-bench}
LOGS=${GIA_BENCH_LOGS:-/var/log/gia-bench}
RUNDIR=/run/gia-bench
DEB_CACHE=/var/cache/gia-bench/debs

REG_USER=${GIA_REGISTRY_USER:-gia-test}
REG_PASS=${GIA_REGISTRY_PASSWORD:-gia-test-password}
REGISTRY=127.0.0.1:5000
REGISTRY_AUTH=127.0.0.1:5001

TRIXIE_PKGS=(docker.io docker-cli docker-buildx containerd)
ENGINE_APT_PKGS=(runc iptables tini)
TOOL_APT_PKGS=(qemu-user-static binfmt-support docker-registry busybox-static apache2-utils ca-certificates curl jq)
STATIC_PLATFORMS=linux/amd64,linux/arm64,linux/arm/v7,linux/arm/v6,linux/386,linux/ppc64le,linux/s390x,linux/riscv64
SYSTEM_PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=up
case "${1:-}" in
  '') ;;
  --check) MODE=check ;;
  --status) MODE=status ;;
  --verify) MODE=verify ;;
  --stop) MODE=stop ;;
  -h | --help)
    sed -n '2,/^set -/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "bench-up: unknown argument '$1' (try --help)" >&2
    exit 2
    ;;
esac

# --- output ----------------------------------------------------------------------------------
T0=$(date +%s)
log() { printf '[bench-up] %s\n' "$*"; }
did() { printf '[bench-up]   + %s\n' "$*"; }
ok() { printf '[bench-up]   = %s\n' "$*"; }
die() {
  printf '[bench-up] ERROR: %s\n' "$*" >&2
  exit 1
}
# shellcheck disable=SC2154 # rc is assigned inside the trap
trap 'rc=$?; printf "[bench-up] ERROR: command failed (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2; exit "$rc"' ERR

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts daemons)"

# --- small helpers ---------------------------------------------------------------------------
APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" = 0 ]; then
    did "apt-get update"
    apt-get update -qq >"$LOGS/apt-update.log" 2>&1 || {
      tail -20 "$LOGS/apt-update.log" >&2
      die "apt-get update failed (log: $LOGS/apt-update.log)"
    }
    APT_UPDATED=1
  fi
}

missing_debs() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$p"
  done
}

apt_install() {
  local -a missing
  mapfile -t missing < <(missing_debs "$@")
  if [ "${#missing[@]}" = 0 ]; then
    ok "bookworm packages present: $*"
    return
  fi
  did "apt-get install (bookworm): ${missing[*]}"
  if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then apt_update_once; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >"$LOGS/apt-install.log" 2>&1 || {
    # stale package lists (a version that left the archive): update once and retry
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
      >"$LOGS/apt-install.log" 2>&1 || {
      tail -20 "$LOGS/apt-install.log" >&2
      die "apt-get install failed (log: $LOGS/apt-install.log)"
    }
  }
}

# pid_alive NAME: the process recorded in $RUNDIR/NAME.pid is alive
pid_alive() {
  local f="$RUNDIR/$1.pid"
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_bg NAME CMD...: start CMD detached, logging to $LOGS/NAME.log, pid in $RUNDIR/NAME.pid
start_bg() {
  local name=$1
  shift
  printf '\n=== %s: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$LOGS/$name.log"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUNDIR/$name.pid"
}

stop_bg() {
  local name=$1 pid
  if pid_alive "$name"; then
    pid=$(cat "$RUNDIR/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
      did "killed $name (pid $pid)"
    else
      did "stopped $name (pid $pid)"
    fi
  fi
  rm -f "$RUNDIR/$name.pid"
}

# wait_for SECONDS CMD...: retry CMD until it succeeds or SECONDS have passed
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.3
  done
  return 1
}

docker_answers() { command -v docker >/dev/null 2>&1 && timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
buildx_works() { timeout 20 docker buildx version >/dev/null 2>&1; }

http_code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "$@" || true; }

plain_registry_ok() { [ "$(http_code "http://$REGISTRY/v2/")" = 200 ]; }
# the auth registry refuses anonymous requests and accepts the credentials of registry-auth.env
# (or, before that file exists, of GIA_REGISTRY_USER/PASSWORD)
auth_registry_ok() {
  [ "$(http_code "http://$REGISTRY_AUTH/v2/")" = 401 ] || return 1
  local u=$REG_USER p=$REG_PASS
  if [ -f "$STATE/registry-auth.env" ]; then
    u=$(sed -n 's/^GIA_REGISTRY_USER=//p' "$STATE/registry-auth.env")
    p=$(sed -n 's/^GIA_REGISTRY_PASSWORD=//p' "$STATE/registry-auth.env")
  fi
  [ "$(http_code -u "$u:$p" "http://$REGISTRY_AUTH/v2/")" = 200 ]
}

MANIFEST_ACCEPT='application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'
# manifest REPO TAG: print the manifest JSON from the :5000 registry (fails when absent)
manifest() { curl -fsS -m 10 -H "Accept: $MANIFEST_ACCEPT" "http://$REGISTRY/v2/$1/manifests/$2"; }

goroot() {
  if [ -n "${GIA_GOROOT:-}" ]; then
    echo "$GIA_GOROOT"
  elif command -v go >/dev/null 2>&1; then
    go env GOROOT
  else
    echo /usr/local/go
  fi
}
GOROOT_SRC=$(goroot)
GO_FULL=""
GO_TAG=""
if [ -f "$GOROOT_SRC/VERSION" ]; then
  GO_FULL=$(head -1 "$GOROOT_SRC/VERSION" | sed 's/^go//')
  GO_TAG=$(echo "$GO_FULL" | cut -d. -f1,2)
fi
GO_IMAGE=$REGISTRY/mirror/golang:${GO_TAG:-1.26}
STATIC_IMAGE=$REGISTRY/mirror/static:nonroot

# --- engine ----------------------------------------------------------------------------------
engine_installed() {
  [ -x "$PREFIX/usr/sbin/dockerd" ] && [ -x "$PREFIX/usr/bin/containerd" ] &&
    [ -x "$PREFIX/usr/libexec/docker/cli-plugins/docker-buildx" ] && [ -f "$PREFIX/.installed" ]
}

install_engine() {
  log "engine: installing Docker Engine from Debian trixie into $PREFIX"
  apt_install "${ENGINE_APT_PKGS[@]}"

  local src=/etc/apt/sources.list.d/gia-bench-trixie.sources pin=/etc/apt/preferences.d/gia-bench-trixie
  local want_src want_pin
  want_src=$'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg'
  want_pin=$'# Only for `apt-get download` of the Docker engine (scripts/bench-up.sh): never install from trixie.\nPackage: *\nPin: release n=trixie\nPin-Priority: 1'
  # Pin first, then the source: at no moment is trixie a source without the pin.
  if [ "$(cat "$pin" 2>/dev/null)" != "$want_pin" ]; then
    printf '%s\n' "$want_pin" >"$pin"
    did "pinned trixie at priority 1 ($pin)"
  fi
  if [ "$(cat "$src" 2>/dev/null)" != "$want_src" ]; then
    printf '%s\n' "$want_src" >"$src"
    did "added trixie to apt sources ($src)"
    APT_UPDATED=0
    apt_update_once
  fi

  mkdir -p "$DEB_CACHE"
  chown _apt "$DEB_CACHE" 2>/dev/null || true
  local p have=1
  for p in "${TRIXIE_PKGS[@]}"; do ls "$DEB_CACHE/${p}_"*.deb >/dev/null 2>&1 || have=0; done
  if [ "$have" = 0 ]; then
    # trixie lists missing (e.g. the sources file predates the last `apt-get clean`): update once
    apt-cache show docker-buildx >/dev/null 2>&1 || apt_update_once
    did "apt-get download -t trixie ${TRIXIE_PKGS[*]}"
    rm -f "$DEB_CACHE"/*.deb
    (cd "$DEB_CACHE" && apt-get download -q -t trixie "${TRIXIE_PKGS[@]}") >"$LOGS/apt-download.log" 2>&1 || {
      tail -20 "$LOGS/apt-download.log" >&2
      die "apt-get download from trixie failed (log: $LOGS/apt-download.log)"
    }
  fi
  rm -rf "$PREFIX.new"
  mkdir -p "$PREFIX.new"
  local deb
  for deb in "$DEB_CACHE"/*.deb; do
    dpkg -x "$deb" "$PREFIX.new"
    did "unpacked $(basename "$deb")"
  done
  # docker.io links docker-init -> tini-static, which bookworm's tini package provides.
  ln -sf /usr/bin/tini-static "$PREFIX.new/usr/bin/tini-static"
  (cd "$DEB_CACHE" && ls -1 -- *.deb) >"$PREFIX.new/.installed"
  rm -rf "$PREFIX"
  mv "$PREFIX.new" "$PREFIX"
  local glibc
  glibc=$(dpkg-query -W -f='${Version}' libc6)
  ok "glibc untouched: libc6 $glibc"
}

configure_engine() {
  mkdir -p /etc/docker
  local f=/etc/docker/daemon.json cur new
  cur=$(cat "$f" 2>/dev/null || echo '{}')
  new=$(printf '%s' "$cur" | jq -S '.features["containerd-snapshotter"] = true') ||
    die "$f is not valid JSON"
  if [ "$(printf '%s' "$cur" | jq -S . 2>/dev/null)" != "$new" ]; then
    printf '%s\n' "$new" >"$f"
    did "wrote $f (containerd image store on)"
    DAEMON_JSON_CHANGED=1
  else
    ok "$f has the containerd snapshotter feature"
  fi
}

link_buildx() {
  local plugin=$PREFIX/usr/libexec/docker/cli-plugins/docker-buildx dir
  [ -x "$plugin" ] || return 0
  # ~/.docker/cli-plugins as engine-notes says, and the system-wide directory so that the plugin
  # is found under any HOME / DOCKER_CONFIG (the e2e tests use a private DOCKER_CONFIG).
  for dir in "${HOME:-/root}/.docker/cli-plugins" "$SYSTEM_PLUGIN_DIR"; do
    if [ "$(readlink "$dir/docker-buildx" 2>/dev/null)" != "$plugin" ]; then
      mkdir -p "$dir"
      ln -sfn "$plugin" "$dir/docker-buildx"
      did "linked $dir/docker-buildx -> $plugin"
    fi
  done
}

link_cli() {
  # The action spawns `docker` from PATH. The machine's own CLI (28.2.2 at /usr/local/bin) works
  # with daemon 26.1 (it negotiates API 1.45), so it is kept; a machine without one gets a link
  # to the trixie CLI.
  if ! command -v docker >/dev/null 2>&1; then
    ln -sfn "$PREFIX/usr/bin/docker" /usr/local/bin/docker
    did "linked /usr/local/bin/docker -> $PREFIX/usr/bin/docker"
    hash -r
  fi
}

# the daemons find runc, containerd-shim-runc-v2, docker-proxy and docker-init on this PATH
DAEMON_PATH="$PREFIX/usr/sbin:$PREFIX/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

containerd_answers() {
  [ -S /run/containerd/containerd.sock ] &&
    timeout 5 "$PREFIX/usr/bin/ctr" --connect-timeout 2s --address /run/containerd/containerd.sock version >/dev/null 2>&1
}

start_engine() {
  mkdir -p "$RUNDIR"
  if [ "${DAEMON_JSON_CHANGED:-0}" = 1 ] && pid_alive dockerd; then
    did "restarting dockerd for the new daemon.json"
    stop_bg dockerd
  fi
  if containerd_answers; then
    ok "containerd answers on /run/containerd/containerd.sock"
  else
    did "starting containerd (log: $LOGS/containerd.log)"
    start_bg containerd env PATH="$DAEMON_PATH" "$PREFIX/usr/bin/containerd"
    wait_for 60 containerd_answers ||
      die "containerd did not answer within 60 s; see $LOGS/containerd.log"
  fi
  if docker_answers; then
    ok "dockerd answers"
  else
    did "starting dockerd (log: $LOGS/dockerd.log)"
    start_bg dockerd env PATH="$DAEMON_PATH" "$PREFIX/usr/sbin/dockerd" --containerd /run/containerd/containerd.sock
    wait_for 90 docker_answers || {
      tail -20 "$LOGS/dockerd.log" >&2
      die "dockerd did not answer within 90 s; see $LOGS/dockerd.log"
    }
  fi
}

ensure_engine() {
  log "engine"
  if docker_answers; then
    if ! buildx_works; then
      # an engine without the buildx plugin: give its CLI ours, leave the engine alone
      engine_installed || install_engine
      link_buildx
      buildx_works || die "the running engine's CLI cannot use $PREFIX/usr/libexec/docker/cli-plugins/docker-buildx"
    fi
    ok "a Docker engine answers with buildx: reusing it ($(docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}'))"
    if [ -x "$PREFIX/usr/sbin/dockerd" ]; then link_buildx; fi
    return
  fi
  engine_installed || install_engine
  ok "engine unpacked in $PREFIX ($(tr '\n' ' ' <"$PREFIX/.installed"))"
  configure_engine
  link_buildx
  link_cli
  start_engine
  buildx_works || die "docker buildx does not work (plugin: $PREFIX/usr/libexec/docker/cli-plugins/docker-buildx)"
}

# --- binfmt / QEMU ---------------------------------------------------------------------------
binfmt_ok() { grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; }

ensure_binfmt() {
  log "binfmt / QEMU"
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
      die "cannot mount binfmt_misc on /proc/sys/fs/binfmt_misc (kernel without CONFIG_BINFMT_MISC?)"
    did "mounted binfmt_misc"
  fi
  if binfmt_ok; then
    ok "qemu-aarch64 registered"
  else
    update-binfmts --enable >"$LOGS/update-binfmts.log" 2>&1 || true
    binfmt_ok || {
      cat "$LOGS/update-binfmts.log" >&2
      die "update-binfmts --enable did not register qemu-aarch64"
    }
    did "update-binfmts --enable"
  fi
}

binfmt_platforms() {
  local f a out=""
  for f in /proc/sys/fs/binfmt_misc/qemu-*; do
    if ! grep -qx enabled "$f" 2>/dev/null; then continue; fi
    a=${f##*/qemu-}
    case $a in
      aarch64) out+=" arm64" ;; arm) out+=" arm" ;; ppc64le) out+=" ppc64le" ;; s390x) out+=" s390x" ;;
      riscv64) out+=" riscv64" ;; mips64el) out+=" mips64le" ;; loongarch64) out+=" loong64" ;;
    esac
  done
  echo "${out# }"
}

# --- registries ------------------------------------------------------------------------------
write_if_changed() { # FILE CONTENT -> returns 0 if the file was (re)written
  if [ "$(cat "$1" 2>/dev/null)" != "$2" ]; then
    printf '%s\n' "$2" >"$1"
    return 0
  fi
  return 1
}

registry_config() { # ADDR ROOT [HTPASSWD]
  local secret
  secret=$(cat "$STATE/registry-secret")
  cat <<EOF
# Written by scripts/bench-up.sh
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $2
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $1
  secret: $secret
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  if [ -n "${3:-}" ]; then
    cat <<EOF
auth:
  htpasswd:
    realm: gia-bench
    path: $3
EOF
  fi
}

ensure_registries() {
  log "registries"
  mkdir -p "$STATE/registry" "$STATE/registry-auth" "$RUNDIR"
  [ -s "$STATE/registry-secret" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE/registry-secret"

  local restart_plain=0 restart_auth=0
  write_if_changed "$STATE/registry.yml" "$(registry_config "$REGISTRY" "$STATE/registry")" && restart_plain=1
  write_if_changed "$STATE/registry-auth.yml" \
    "$(registry_config "$REGISTRY_AUTH" "$STATE/registry-auth" "$STATE/registry-auth.htpasswd")" && restart_auth=1
  if ! { [ -s "$STATE/registry-auth.htpasswd" ] &&
    htpasswd -vb "$STATE/registry-auth.htpasswd" "$REG_USER" "$REG_PASS" >/dev/null 2>&1; }; then
    htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$STATE/registry-auth.htpasswd"
    did "wrote $STATE/registry-auth.htpasswd (bcrypt, user $REG_USER)"
    restart_auth=1
  fi
  chmod 600 "$STATE/registry-auth.htpasswd"
  local auth_env
  auth_env=$(printf 'GIA_REGISTRY_AUTH_HOST=%s\nGIA_REGISTRY_USER=%s\nGIA_REGISTRY_PASSWORD=%s' \
    "$REGISTRY_AUTH" "$REG_USER" "$REG_PASS")
  write_if_changed "$STATE/registry-auth.env" "$auth_env" && did "wrote $STATE/registry-auth.env"
  chmod 644 "$STATE/registry-auth.env"

  # an answer on the port that is not ours (and we have no reason to restart) is reused
  if [ "$restart_plain" = 1 ] && pid_alive registry; then stop_bg registry; fi
  if plain_registry_ok; then
    ok "$REGISTRY answers (no auth)"
  else
    pid_alive registry && stop_bg registry
    did "starting docker-registry on $REGISTRY (log: $LOGS/registry.log)"
    start_bg registry docker-registry serve "$STATE/registry.yml"
    wait_for 30 plain_registry_ok || {
      tail -20 "$LOGS/registry.log" >&2
      die "registry $REGISTRY did not come up; see $LOGS/registry.log"
    }
  fi

  if [ "$restart_auth" = 1 ] && pid_alive registry-auth; then stop_bg registry-auth; fi
  if auth_registry_ok; then
    ok "$REGISTRY_AUTH answers (htpasswd, user $REG_USER)"
  else
    if pid_alive registry-auth; then
      stop_bg registry-auth
    elif [ "$(http_code "http://$REGISTRY_AUTH/v2/")" != 000 ]; then
      die "something else answers on $REGISTRY_AUTH without accepting $REG_USER; stop it or set GIA_REGISTRY_USER/PASSWORD"
    fi
    did "starting docker-registry with auth on $REGISTRY_AUTH (log: $LOGS/registry-auth.log)"
    start_bg registry-auth docker-registry serve "$STATE/registry-auth.yml"
    wait_for 30 auth_registry_ok || {
      tail -20 "$LOGS/registry-auth.log" >&2
      die "registry $REGISTRY_AUTH did not come up; see $LOGS/registry-auth.log"
    }
  fi
}

# --- mirror images ---------------------------------------------------------------------------
golang_image_ok() {
  local m cfg
  m=$(manifest mirror/golang "$GO_TAG" 2>/dev/null) || return 1
  cfg=$(printf '%s' "$m" | jq -r '.config.digest // empty') || return 1
  [ -n "$cfg" ] || return 1
  curl -fsS -m 10 "http://$REGISTRY/v2/mirror/golang/blobs/$cfg" |
    jq -e --arg v "GOLANG_VERSION=$GO_FULL" '.config.Env | index($v) != null' >/dev/null 2>&1
}

static_platforms_in_registry() {
  manifest mirror/static nonroot 2>/dev/null |
    jq -r '[.manifests[]?.platform | select(.os != "unknown") | .os + "/" + .architecture + (if .variant then "/" + .variant else "" end)] | sort | join(",")'
}

static_image_ok() {
  local have want
  have=$(static_platforms_in_registry) || return 1
  want=$(echo "$STATIC_PLATFORMS" | tr ',' '\n' | sort | paste -sd, -)
  [ "$have" = "$want" ]
}

# a root filesystem common to both images: passwd/group, CA certificates, nsswitch, /tmp
base_files() { # DIR
  local d=$1
  mkdir -p "$d/etc/ssl/certs" "$d/tmp" "$d/root" "$d/home/nonroot"
  chmod 1777 "$d/tmp"
  chmod 700 "$d/root"
  cp /etc/ssl/certs/ca-certificates.crt "$d/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
    'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
    'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$d/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'tty:x:5:' 'staff:x:50:' 'nonroot:x:65532:' >"$d/etc/group"
  printf 'hosts: files dns\n' >"$d/etc/nsswitch.conf"
}

build_golang_image() {
  [ -x "$GOROOT_SRC/bin/go" ] || die "no Go toolchain at $GOROOT_SRC (set GIA_GOROOT)"
  [ -x /bin/busybox ] || die "/bin/busybox missing (busybox-static)"
  did "building $GO_IMAGE from $GOROOT_SRC (go $GO_FULL)"
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/gia-golang.XXXXXX")
  local r=$work/root
  base_files "$r"
  sed -i 's#^root:x:0:0:root:/root:/sbin/nologin#root:x:0:0:root:/root:/bin/sh#' "$r/etc/passwd"
  mkdir -p "$r/bin" "$r/usr/bin" "$r/usr/local" "$r/go/bin" "$r/go/src"
  cp /bin/busybox "$r/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
  done
  ln -s ../../bin/env "$r/usr/bin/env"
  cp -a "$GOROOT_SRC" "$r/usr/local/go"
  # not needed to build: the toolchain's own test suite, API lists, docs
  rm -rf "$r/usr/local/go/test" "$r/usr/local/go/api" "$r/usr/local/go/doc"
  tar -C "$r" --numeric-owner --owner=0 --group=0 -c . |
    docker import \
      --change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "ENV GOLANG_VERSION=$GO_FULL" \
      --change 'ENV GOTOOLCHAIN=local' \
      --change 'ENV GOPATH=/go' \
      --change 'WORKDIR /go' \
      --change 'CMD ["/bin/sh"]' \
      - "$GO_IMAGE" >/dev/null
  rm -rf "$work"
  docker tag "$GO_IMAGE" "$REGISTRY/mirror/golang:$GO_FULL"
  docker push -q "$GO_IMAGE" >/dev/null
  docker push -q "$REGISTRY/mirror/golang:$GO_FULL" >/dev/null
  did "pushed $GO_IMAGE and $REGISTRY/mirror/golang:$GO_FULL"
}

build_static_image() {
  did "building $STATIC_IMAGE for $STATIC_PLATFORMS"
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/gia-static.XXXXXX")
  base_files "$work/root"
  chmod 700 "$work/root/home/nonroot"
  # a tar keeps modes and owners exactly (/tmp 1777, /home/nonroot owned by 65532)
  tar -C "$work/root" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" \
    --exclude=./home/nonroot .
  tar -C "$work/root" --numeric-owner --owner=65532 --group=65532 -rf "$work/rootfs.tar" ./home/nonroot
  cat >"$work/Dockerfile" <<'EOF'
# A stand-in for gcr.io/distroless/static:nonroot: passwd/group with nonroot (65532), CA
# certificates, /tmp. No binaries, so the same files serve every platform.
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
EOF
  docker buildx build --builder default --progress=plain --provenance=false \
    --platform "$STATIC_PLATFORMS" -t "$STATIC_IMAGE" --push "$work" >"$LOGS/build-static.log" 2>&1 || {
    tail -30 "$LOGS/build-static.log" >&2
    die "building $STATIC_IMAGE failed (log: $LOGS/build-static.log)"
  }
  rm -rf "$work"
  did "pushed $STATIC_IMAGE"
}

ensure_images() {
  log "mirror images in $REGISTRY"
  [ -n "$GO_TAG" ] || die "cannot read the Go version from $GOROOT_SRC/VERSION (set GIA_GOROOT)"
  if golang_image_ok; then
    ok "$GO_IMAGE present (go $GO_FULL)"
  else
    build_golang_image
    golang_image_ok || die "$GO_IMAGE is not in the registry after the push"
  fi
  if static_image_ok; then
    ok "$STATIC_IMAGE present ($STATIC_PLATFORMS)"
  else
    build_static_image
    static_image_ok || die "$STATIC_IMAGE does not have all of $STATIC_PLATFORMS after the push"
  fi
}

write_bench_env() {
  local content
  content=$(
    cat <<EOF
# Written by scripts/bench-up.sh; KEY=VALUE lines.
GIA_REGISTRY=$REGISTRY
GIA_REGISTRY_AUTH_HOST=$REGISTRY_AUTH
GIA_REGISTRY_AUTH_ENV=$STATE/registry-auth.env
GIA_GO_IMAGE=$GO_IMAGE
GIA_BASE_IMAGE=$STATIC_IMAGE
GIA_STATIC_PLATFORMS=$STATIC_PLATFORMS
GIA_BENCH_PREFIX=$PREFIX
GIA_BENCH_LOGS=$LOGS
GIA_DOCKER_CLI=$(command -v docker)
EOF
  )
  if write_if_changed "$STATE/bench.env" "$content"; then did "wrote $STATE/bench.env"; fi
}

# --- check / status --------------------------------------------------------------------------
CHECK_FAILED=0
check() { # DESCRIPTION CMD...
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then
    printf '[bench-up]   ok    %s\n' "$what"
  else
    printf '[bench-up]   FAIL  %s\n' "$what"
    CHECK_FAILED=1
  fi
}

containerd_store() { docker info --format '{{json .DriverStatus}}' 2>/dev/null | grep -q io.containerd.snapshotter.v1; }

run_checks() {
  log "checks"
  check "docker CLI on PATH ($(command -v docker || echo none))" command -v docker
  check "Docker engine answers" docker_answers
  check "docker buildx works" buildx_works
  check "containerd image store (multi-platform --load)" containerd_store
  check "binfmt: qemu-aarch64 enabled" binfmt_ok
  check "registry $REGISTRY answers" plain_registry_ok
  check "registry $REGISTRY_AUTH requires and accepts the test credentials" auth_registry_ok
  check "credentials file $STATE/registry-auth.env" test -s "$STATE/registry-auth.env"
  check "$GO_IMAGE (go $GO_FULL)" golang_image_ok
  check "$STATIC_IMAGE ($STATIC_PLATFORMS)" static_image_ok
  check "current buildx and BuildKit image ($STATE/current.env)" current_ok
  check "SBOM scanner image ($STATE/sbom-scanner.env)" sbom_scanner_ok
}

current_ok() {
  [ -s "$STATE/current.env" ] || return 1
  local bin image
  bin=$(sed -n 's/^GIA_BUILDX_CURRENT=//p' "$STATE/current.env")
  image=$(sed -n 's/^GIA_BUILDKIT_IMAGE=//p' "$STATE/current.env")
  [ -x "$bin" ] && manifest mirror/buildkit "${image##*:}" >/dev/null 2>&1
}

ensure_current() {
  log "current buildx and BuildKit"
  PATH="$GOROOT_SRC/bin:$PATH" GIA_BENCH_STATE=$STATE GIA_BENCH_LOGS=$LOGS bash "$SCRIPT_DIR/bench/current.sh"
}

sbom_scanner_ok() {
  [ -s "$STATE/sbom-scanner.env" ] || return 1
  local image
  image=$(sed -n 's/^GIA_SBOM_SCANNER_IMAGE=//p' "$STATE/sbom-scanner.env")
  manifest mirror/sbom-scanner "${image##*:}" >/dev/null 2>&1
}

ensure_sbom_scanner() {
  log "SBOM scanner image"
  PATH="$GOROOT_SRC/bin:$PATH" GIA_BENCH_STATE=$STATE GIA_BENCH_LOGS=$LOGS bash "$SCRIPT_DIR/bench/sbom-scanner.sh"
}

print_status() {
  local client server ctrd buildx inspect driver bk platforms store
  client=$(docker version --format '{{.Client.Version}}' 2>/dev/null | head -1 || true)
  server=$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || true)
  ctrd=$(docker version --format '{{range .Server.Components}}{{if eq .Name "containerd"}}{{.Version}}{{end}}{{end}}' 2>/dev/null || true)
  buildx=$(docker buildx version 2>/dev/null | awk '{print $2}' || true)
  store="-"
  inspect=""
  if [ -n "$server" ]; then
    inspect=$(docker buildx inspect 2>/dev/null || true)
    if containerd_store; then store="containerd (io.containerd.snapshotter.v1)"; else store="classic (no multi-platform --load)"; fi
  fi
  driver=$(printf '%s\n' "$inspect" | awk -F': *' '/^Driver:/{print $2; exit}')
  bk=$(printf '%s\n' "$inspect" | awk -F': *' '/BuildKit version:/{print $2; exit}')
  platforms=$(printf '%s\n' "$inspect" | awk -F': *' '/^Platforms:/{print $2; exit}')
  # The Debian build of dockerd reports its vendored BuildKit as v0.0.0+unknown; dockerd 26.1 vendors v0.13.
  case "$server" in 26.1.*) [ "$bk" != "v0.0.0+unknown" ] || bk="v0.13 (vendored in dockerd 26.1; reported as v0.0.0+unknown)" ;; esac
  echo "------------------------------------------------------------------------------"
  echo " docker CLI      $(command -v docker || echo 'none on PATH') ${client:-?}"
  echo " engine          ${server:-not answering}${ctrd:+, containerd $ctrd}"
  echo " image store     $store"
  echo " buildx          ${buildx:-not working}, builder default, driver ${driver:--}, BuildKit ${bk:--}"
  echo " build platforms ${platforms:--}"
  echo " binfmt (qemu)   $(binfmt_platforms)"
  echo " registries      http://$REGISTRY (no auth), http://$REGISTRY_AUTH (htpasswd; credentials in $STATE/registry-auth.env)"
  echo " mirror images   $GO_IMAGE (linux/amd64), $STATIC_IMAGE (${STATIC_PLATFORMS//linux\//})"
  echo " sbom scanner    $(sed -n 's/^GIA_SBOM_SCANNER_IMAGE=//p' "$STATE/sbom-scanner.env" 2>/dev/null || true)"
  echo " for callers     $STATE/bench.env; logs in $LOGS"
  echo "------------------------------------------------------------------------------"
}

stop_all() {
  log "stopping what bench-up started"
  stop_bg registry-auth
  stop_bg registry
  stop_bg dockerd
  stop_bg containerd
}

# --- main ------------------------------------------------------------------------------------
mkdir -p "$STATE" "$LOGS" "$RUNDIR"
case $MODE in
  stop)
    stop_all
    exit 0
    ;;
  status)
    print_status
    exit 0
    ;;
  check)
    run_checks
    print_status
    [ "$CHECK_FAILED" = 0 ] || die "the bench is not (fully) up: run scripts/bench-up.sh"
    log "all checks passed"
    exit 0
    ;;
esac

log "bringing up the build bench (prefix $PREFIX, state $STATE, logs $LOGS)"
# tools first: jq/curl are used below; qemu/binfmt/registry/busybox/htpasswd for every engine
apt_install "${TOOL_APT_PKGS[@]}"
ensure_engine
ensure_binfmt
ensure_registries
ensure_images
ensure_current
ensure_sbom_scanner
write_bench_env
run_checks
print_status
[ "$CHECK_FAILED" = 0 ] || die "some checks failed (see above)"
log "bench is up in $(($(date +%s) - T0)) s"
if [ "$MODE" = verify ]; then
  exec "$SCRIPT_DIR/bench/verify.sh"
fi
