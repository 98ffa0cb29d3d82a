#!/usr/bin/env bash
# Install the pinned tools the tests and the CI use, idempotently, and print where they are:
#
#   act         github.com/nektos/act          Go module proxy   a runner nobody here wrote (npm test)
#   actionlint  github.com/rhysd/actionlint    Go module proxy   workflow checks (.ci/run)
#   zizmor      zizmor on PyPI                 pip, in a venv    workflow security audit (.ci/run)
#   ko          github.com/google/ko           Go module proxy   a peer of the action (npm run bench:peers)
#   goreleaser  github.com/goreleaser/goreleaser/v2  Go module proxy   a peer (npm run bench:peers)
#
# A tool already installed at its pinned version is left alone (a second run takes well under a
# second); another version is replaced. Go tools are compiled from source by `go install` (the Go
# toolchain of the machine, 1.26), nothing is downloaded but modules and the zizmor wheel.
#
# Usage:
#   scripts/tools.sh [TOOL...]          install TOOLs (default: act, actionlint, zizmor); print
#                                       "TOOL PATH" lines
#   scripts/tools.sh --path TOOL        print the path of TOOL if it is installed at its version, else exit 1
#
# Environment (optional):
#   GIA_TOOLS   where the tools go ($GIA_TOOLS/bin); default /opt/gia-bench/tools when it can be
#               written, else ${XDG_CACHE_HOME:-~/.cache}/gia-tools
set -Eeuo pipefail

ACT_VERSION=v0.2.89
ACTIONLINT_VERSION=v1.7.12
ZIZMOR_VERSION=1.32.0
KO_VERSION=v0.19.1
GORELEASER_VERSION=v2.15.1

default_dir() {
  if mkdir -p /opt/gia-bench/tools 2>/dev/null && [ -w /opt/gia-bench/tools ]; then
    echo /opt/gia-bench/tools
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/gia-tools"
  fi
}
TOOLS=${GIA_TOOLS:-$(default_dir)}
BIN=$TOOLS/bin

log() { printf '[tools] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# the module version a Go binary was built from ("" when it is not there)
go_binary_version() { # BINARY
  [ -x "$1" ] || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

installed() { # TOOL -> 0 when TOOL is at its pinned version
  case $1 in
    act) [ "$(go_binary_version "$BIN/act")" = "$ACT_VERSION" ] ;;
    actionlint) [ "$(go_binary_version "$BIN/actionlint")" = "$ACTIONLINT_VERSION" ] ;;
    zizmor) [ -x "$BIN/zizmor" ] && [ "$("$BIN/zizmor" --version 2>/dev/null)" = "zizmor $ZIZMOR_VERSION" ] ;;
    ko) [ "$(go_binary_version "$BIN/ko")" = "$KO_VERSION" ] ;;
    goreleaser) [ "$(go_binary_version "$BIN/goreleaser")" = "$GORELEASER_VERSION" ] ;;
    *) die "unknown tool $1 (act, actionlint, zizmor, ko, goreleaser)" ;;
  esac
}

go_install() { # TOOL PACKAGE@VERSION
  command -v go >/dev/null || die "$1 is built with Go: no go on PATH"
  local t0=$SECONDS
  log "building $2 (go install, $(go env GOVERSION))"
  # a module's own go.mod decides its dependencies; no workspace or vendor of the caller applies
  (cd / && GOBIN=$BIN GOWORK=off GOFLAGS=-buildvcs=false go install "$2") ||
    die "go install $2 failed"
  log "built $1 in $((SECONDS - t0)) s"
}

pip_install_zizmor() {
  local venv=$TOOLS/zizmor-$ZIZMOR_VERSION t0=$SECONDS
  command -v python3 >/dev/null || die "zizmor comes from PyPI: no python3 on PATH"
  if [ ! -x "$venv/bin/pip" ]; then
    rm -rf "$venv"
    if ! python3 -m venv "$venv" 2>/dev/null; then
      [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
        die "python3 -m venv does not work (install python3-venv)"
      log "python3 -m venv does not work: apt-get install python3-venv"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$venv"
      python3 -m venv "$venv"
    fi
  fi
  log "pip install zizmor==$ZIZMOR_VERSION"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "zizmor==$ZIZMOR_VERSION"
  ln -sfn "$venv/bin/zizmor" "$BIN/zizmor"
  log "installed zizmor in $((SECONDS - t0)) s"
}

install() { # TOOL
  installed "$1" && return 0
  mkdir -p "$BIN"
  case $1 in
    act) go_install act "github.com/nektos/act@$ACT_VERSION" ;;
    actionlint) go_install actionlint "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" ;;
    zizmor) pip_install_zizmor ;;
    ko) go_install ko "github.com/google/ko@$KO_VERSION" ;;
    goreleaser) go_install goreleaser "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION" ;;
  esac
  installed "$1" || die "$1 is not at its pinned version after installing it"
}

if [ "${1:-}" = --path ]; then
  [ -n "${2:-}" ] || die "--path needs a tool name"
  installed "$2" || exit 1
  echo "$BIN/$2"
  exit 0
fi

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(act actionlint zizmor)
for t in "${tools[@]}"; do
  install "$t"
  echo "$t $BIN/$t"
done
