#!/usr/bin/env bash
# An SBOM scanner image for BuildKit on the bench, where docker/buildkit-syft-scanner (Docker Hub)
# cannot be pulled:
#
#   - syft (the CLI), built from its Go module (github.com/anchore/syft, CGO off, linux/amd64:
#     BuildKit runs the scanner on the build platform), cached in
#       $GIA_BENCH_CURRENT/syft-<v>/syft
#   - our glue, scripts/bench/sbom-scanner/ (BuildKit's SBOM generator protocol: scan
#     $BUILDKIT_SCAN_SOURCE and the extras with syft, write in-toto statements with the SPDX
#     document as predicate to $BUILDKIT_SCAN_DESTINATION; standard library only)
#   - both on an otherwise empty root filesystem (a tmpfs /tmp is BuildKit's), pushed as
#       127.0.0.1:5000/mirror/sbom-scanner:<syft version>
#     the image the action's input sbom-scanner names in the tests.
#
# Idempotent and cached: syft of the pinned version is not compiled again; the image is not built
# again while the registry holds one of this syft version and of this glue source (its config
# carries both). Called by scripts/bench-up.sh after the registries are up. Prints the compile
# time of what it compiled. Needs: go (>= the module's go line), docker, jq, curl, sha256sum.
#
# Environment (optional):
#   GIA_BENCH_CURRENT  where the binaries go        (/var/cache/gia-bench/current)
#   GIA_BENCH_LOGS     build logs                   (/var/log/gia-bench)
#   GIA_BENCH_STATE    sbom-scanner.env goes there  (/var/lib/gia-bench)
set -Eeuo pipefail

SYFT_VERSION=v1.57.1
REGISTRY=127.0.0.1:5000
REPO=mirror/sbom-scanner
IMAGE=$REGISTRY/$REPO:$SYFT_VERSION

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GLUE_SRC=$SCRIPT_DIR/sbom-scanner
DIR=${GIA_BENCH_CURRENT:-/var/cache/gia-bench/current}
LOGS=${GIA_BENCH_LOGS:-/var/log/gia-bench}
STATE=${GIA_BENCH_STATE:-/var/lib/gia-bench}
SYFT_BIN=$DIR/syft-$SYFT_VERSION/syft

log() { printf '[bench-sbom] %s\n' "$*"; }
die() {
  printf '[bench-sbom] ERROR: %s\n' "$*" >&2
  exit 1
}
mkdir -p "$DIR" "$LOGS" "$STATE"

# the glue's identity: a hash of its sources, kept in the image's config
GLUE_HASH=$(cd "$GLUE_SRC" && cat go.mod main.go | sha256sum | cut -c1-16)

syft_ok() { [ -x "$SYFT_BIN" ] && "$SYFT_BIN" version 2>/dev/null | grep -q "^Version: *${SYFT_VERSION#v}$"; }

ensure_syft() {
  if syft_ok; then
    log "= syft $SYFT_VERSION present ($SYFT_BIN)"
    return
  fi
  local t0=$SECONDS out
  out=$(dirname "$SYFT_BIN")
  log "+ compiling syft $SYFT_VERSION from github.com/anchore/syft (log: $LOGS/sbom-syft.log)"
  rm -rf "$out.new"
  mkdir -p "$out.new"
  if ! (cd "$DIR" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOBIN=$out.new GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
    go install -trimpath -ldflags "-s -w -X main.version=${SYFT_VERSION#v}" \
    "github.com/anchore/syft/cmd/syft@$SYFT_VERSION") >"$LOGS/sbom-syft.log" 2>&1; then
    tail -20 "$LOGS/sbom-syft.log" >&2
    die "go install of syft $SYFT_VERSION failed (log: $LOGS/sbom-syft.log)"
  fi
  rm -rf "$out"
  mv "$out.new" "$out"
  syft_ok || die "$SYFT_BIN does not report $SYFT_VERSION"
  log "+ syft $SYFT_VERSION compiled in $((SECONDS - t0)) s"
}

# the image's config carries this syft version and this glue
image_ok() {
  local m cfg
  m=$(curl -fsS -m 10 -H 'Accept: application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/$REPO/manifests/$SYFT_VERSION" 2>/dev/null) || return 1
  cfg=$(printf '%s' "$m" | jq -r '.config.digest // empty') || return 1
  [ -n "$cfg" ] || return 1
  curl -fsS -m 10 "http://$REGISTRY/v2/$REPO/blobs/$cfg" |
    jq -e --arg v "SYFT_VERSION=$SYFT_VERSION" --arg g "GIA_SBOM_GLUE=$GLUE_HASH" \
      '(.config.Env | index($v) != null) and (.config.Env | index($g) != null)' >/dev/null 2>&1
}

build_image() {
  local work r
  work=$(mktemp -d "${TMPDIR:-/tmp}/gia-sbom.XXXXXX")
  r=$work/root
  mkdir -p "$r/usr/bin" "$r/tmp"
  chmod 1777 "$r/tmp"
  (cd "$GLUE_SRC" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
    go build -trimpath -ldflags '-s -w' -o "$r/usr/bin/sbom-scanner" .) >"$LOGS/sbom-glue.log" 2>&1 ||
    die "go build of the glue failed (log: $LOGS/sbom-glue.log)"
  cp "$SYFT_BIN" "$r/usr/bin/syft"
  log "+ building $IMAGE (syft $SYFT_VERSION, glue $GLUE_HASH)"
  tar -C "$r" --numeric-owner --owner=0 --group=0 -c . |
    docker import \
      --change 'ENV PATH=/usr/bin' \
      --change 'ENV HOME=/tmp' \
      --change 'ENV XDG_CACHE_HOME=/tmp/.cache' \
      --change 'ENV SYFT_CHECK_FOR_APP_UPDATE=false' \
      --change "ENV SYFT_VERSION=$SYFT_VERSION" \
      --change "ENV GIA_SBOM_GLUE=$GLUE_HASH" \
      --change 'ENTRYPOINT ["/usr/bin/sbom-scanner"]' \
      - "$IMAGE" >/dev/null
  rm -rf "$work"
  docker push -q "$IMAGE" >/dev/null
  log "+ pushed $IMAGE"
}

t0=$SECONDS
if image_ok; then
  log "= $IMAGE present"
else
  ensure_syft
  build_image
  image_ok || die "$IMAGE is not in the registry after the push"
fi
cat >"$STATE/sbom-scanner.env.new" <<EOT
# Written by scripts/bench/sbom-scanner.sh; KEY=VALUE lines.
GIA_SBOM_SCANNER_IMAGE=$IMAGE
GIA_SYFT_VERSION=$SYFT_VERSION
EOT
mv "$STATE/sbom-scanner.env.new" "$STATE/sbom-scanner.env"
log "SBOM scanner image ready in $((SECONDS - t0)) s ($STATE/sbom-scanner.env)"
