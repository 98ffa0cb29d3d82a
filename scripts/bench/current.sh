#!/usr/bin/env bash
# Today's buildx and BuildKit on the bench, next to Debian's buildx 0.13 and Docker 26's BuildKit:
#
#   - buildx (CLI plugin), built from its Go module, installed where no Docker CLI looks by itself:
#       $GIA_BENCH_CURRENT/buildx-<v>/docker-buildx
#     A test selects it with a DOCKER_CONFIG whose cli-plugins/ holds it (the Docker CLI looks in
#     $DOCKER_CONFIG/cli-plugins before its system directories, where bench-up.sh links 0.13).
#   - a BuildKit image, buildkitd + buildctl built from the moby/buildkit module, runc from Debian
#     (with the libraries it links), on a small root filesystem, pushed as
#       127.0.0.1:5000/mirror/buildkit:<v>
#     the image the action's docker-container builder runs (input buildkit-image), the way
#     moby/buildkit:<v> would be pulled from Docker Hub.
#
# Idempotent and cached: a binary of the pinned version is not compiled again, an image already in
# the registry is not built again. Called by scripts/bench-up.sh after the registries are up.
# Prints the compile time of what it compiled. Needs: go (the machine's, >= the modules' go line),
# docker, jq, curl, busybox-static, runc.
#
# Environment (optional):
#   GIA_BENCH_CURRENT  where the binaries go         (/var/cache/gia-bench/current)
#   GIA_BENCH_LOGS     build logs                    (/var/log/gia-bench)
#   GIA_BENCH_STATE    current.env is written there  (/var/lib/gia-bench)
set -Eeuo pipefail

BUILDX_VERSION=v0.38.2
BUILDKIT_VERSION=v0.34.2
REGISTRY=127.0.0.1:5000
IMAGE=$REGISTRY/mirror/buildkit:$BUILDKIT_VERSION

DIR=${GIA_BENCH_CURRENT:-/var/cache/gia-bench/current}
LOGS=${GIA_BENCH_LOGS:-/var/log/gia-bench}
STATE=${GIA_BENCH_STATE:-/var/lib/gia-bench}
BUILDX_BIN=$DIR/buildx-$BUILDX_VERSION/docker-buildx
BUILDKIT_DIR=$DIR/buildkit-$BUILDKIT_VERSION

log() { printf '[bench-current] %s\n' "$*"; }
die() {
  printf '[bench-current] ERROR: %s\n' "$*" >&2
  exit 1
}
mkdir -p "$DIR" "$LOGS" "$STATE"

# go_build LOG OUTDIR MODULE@VERSION FLAGS LDFLAGS PKG...: static binaries of the module's packages
# (CGO_ENABLED=0; FLAGS: words such as the project's release build tags). Built inside the module (downloaded from the module proxy into
# GOMODCACHE), not with `go install pkg@version`, which refuses a go.mod with exclude directives
# (moby/buildkit has some).
go_build() {
  local logf=$1 out=$2 mod=$3 ldflags=$5 dir
  local -a flags
  read -r -a flags <<<"$4"
  shift 5
  dir=$(cd "$DIR" && GOTOOLCHAIN=local go mod download -json "$mod" 2>"$logf" | jq -r '.Dir // empty') || true
  [ -n "$dir" ] && [ -d "$dir" ] || {
    cat "$logf" >&2
    die "go mod download $mod failed (log: $logf)"
  }
  rm -rf "$out.new"
  mkdir -p "$out.new"
  if ! (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
    go build "${flags[@]}" -ldflags "-s -w $ldflags" -o "$out.new/" "$@") \
    >>"$logf" 2>&1; then
    tail -20 "$logf" >&2
    die "go build of $mod failed (log: $logf)"
  fi
  rm -rf "$out"
  mv "$out.new" "$out"
}

buildx_ok() { [ -x "$BUILDX_BIN" ] && "$BUILDX_BIN" version 2>/dev/null | grep -q " $BUILDX_VERSION "; }

ensure_buildx() {
  if buildx_ok; then
    log "= buildx $BUILDX_VERSION present ($BUILDX_BIN)"
    return
  fi
  local t0=$SECONDS
  log "+ compiling buildx $BUILDX_VERSION from github.com/docker/buildx (log: $LOGS/current-buildx.log)"
  go_build "$LOGS/current-buildx.log" "$(dirname "$BUILDX_BIN")" "github.com/docker/buildx@$BUILDX_VERSION" '' \
    "-X github.com/docker/buildx/version.Version=$BUILDX_VERSION -X github.com/docker/buildx/version.Package=github.com/docker/buildx" \
    ./cmd/buildx
  mv "$(dirname "$BUILDX_BIN")/buildx" "$BUILDX_BIN"
  buildx_ok || die "$BUILDX_BIN does not report $BUILDX_VERSION"
  log "+ buildx $BUILDX_VERSION compiled in $((SECONDS - t0)) s"
}

buildkit_bins_ok() {
  [ -x "$BUILDKIT_DIR/buildkitd" ] && [ -x "$BUILDKIT_DIR/buildctl" ] &&
    "$BUILDKIT_DIR/buildkitd" --version 2>/dev/null | grep -q " $BUILDKIT_VERSION "
}

ensure_buildkit_bins() {
  if buildkit_bins_ok; then
    log "= buildkitd, buildctl $BUILDKIT_VERSION present ($BUILDKIT_DIR)"
    return
  fi
  local t0=$SECONDS
  log "+ compiling buildkitd, buildctl $BUILDKIT_VERSION from github.com/moby/buildkit (log: $LOGS/current-buildkit.log)"
  go_build "$LOGS/current-buildkit.log" "$BUILDKIT_DIR" "github.com/moby/buildkit@$BUILDKIT_VERSION" '-trimpath -tags=osusergo,netgo,static_build' \
    "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION -X github.com/moby/buildkit/version.Package=github.com/moby/buildkit" \
    ./cmd/buildkitd ./cmd/buildctl
  buildkit_bins_ok || die "$BUILDKIT_DIR/buildkitd does not report $BUILDKIT_VERSION"
  log "+ buildkitd, buildctl $BUILDKIT_VERSION compiled in $((SECONDS - t0)) s"
}

# the image's config carries BUILDKIT_VERSION: present and of the pinned version
image_ok() {
  local m cfg
  m=$(curl -fsS -m 10 -H 'Accept: application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/mirror/buildkit/manifests/$BUILDKIT_VERSION" 2>/dev/null) || return 1
  cfg=$(printf '%s' "$m" | jq -r '.config.digest // empty') || return 1
  [ -n "$cfg" ] || return 1
  curl -fsS -m 10 "http://$REGISTRY/v2/mirror/buildkit/blobs/$cfg" |
    jq -e --arg v "BUILDKIT_VERSION=$BUILDKIT_VERSION" '.config.Env | index($v) != null' >/dev/null 2>&1
}

# copy_with_libs ROOT BINARY: the binary at the same path, and every library it links
copy_with_libs() {
  local root=$1 bin=$2 lib
  mkdir -p "$root$(dirname "$bin")"
  cp "$bin" "$root$bin"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

build_image() {
  local runc
  runc=$(command -v runc || echo /usr/sbin/runc)
  [ -x "$runc" ] || die "no runc (Debian's runc package)"
  [ -x /bin/busybox ] || die "/bin/busybox missing (busybox-static)"
  log "+ building $IMAGE (buildkitd, buildctl $BUILDKIT_VERSION; $("$runc" --version | head -1) from Debian)"
  local work r a
  work=$(mktemp -d "${TMPDIR:-/tmp}/gia-buildkit.XXXXXX")
  r=$work/root
  mkdir -p "$r/usr/bin" "$r/bin" "$r/etc/buildkit" "$r/etc/ssl/certs" "$r/tmp" "$r/var/lib/buildkit" "$r/run"
  chmod 1777 "$r/tmp"
  cp "$BUILDKIT_DIR/buildkitd" "$BUILDKIT_DIR/buildctl" "$r/usr/bin/"
  copy_with_libs "$r" "$runc"
  [ "$runc" = /usr/bin/runc ] || ln -s "$runc" "$r/usr/bin/runc"
  cp /bin/busybox "$r/bin/busybox"
  for a in sh cat ls mkdir rm mount umount ps; do ln -s busybox "$r/bin/$a"; done
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' >"$r/etc/group"
  tar -C "$r" --numeric-owner --owner=0 --group=0 -c . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "ENV BUILDKIT_VERSION=$BUILDKIT_VERSION" \
      --change 'VOLUME /var/lib/buildkit' \
      --change 'ENTRYPOINT ["buildkitd"]' \
      - "$IMAGE" >/dev/null
  rm -rf "$work"
  docker push -q "$IMAGE" >/dev/null
  log "+ pushed $IMAGE"
}

t0=$SECONDS
ensure_buildx
if image_ok; then
  log "= $IMAGE present"
else
  ensure_buildkit_bins
  build_image
  image_ok || die "$IMAGE is not in the registry after the push"
fi
cat >"$STATE/current.env.new" <<EOF
# Written by scripts/bench/current.sh; KEY=VALUE lines.
GIA_BUILDX_CURRENT=$BUILDX_BIN
GIA_BUILDX_CURRENT_VERSION=$BUILDX_VERSION
GIA_BUILDKIT_IMAGE=$IMAGE
GIA_BUILDKIT_VERSION=$BUILDKIT_VERSION
EOF
mv "$STATE/current.env.new" "$STATE/current.env"
log "current buildx and BuildKit ready in $((SECONDS - t0)) s ($STATE/current.env)"
