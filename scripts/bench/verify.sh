#!/usr/bin/env bash
# End-to-end checks of the build bench that scripts/bench-up.sh brings up (run that first, or
# `scripts/bench-up.sh --verify`). Exits non-zero on the first check that fails.
#
#  1. multi-platform build of examples/hello (cmd/hello-cli), --push: the registry holds an index
#     with linux/amd64 and linux/arm64, and the arm64 image prints the injected version under QEMU
#  2. multi-platform --load of cmd/hello-web: both platforms run from the local store, `docker push`
#     pushes the very index that was loaded (loaded image ID = pushed digest), the server answers
#     on a published port (bridge network + port mapping)
#  3. examples/broken-version prints the wrong version (the negative smoke test has a case)
#  4. a RUN step of a build reaches the Go module proxy (build network)
#  5. `docker run` with the default bridge network reaches the Go module proxy (run network)
#  6. a RUN step of a foreign platform runs under QEMU (arm64, arm/v7, 386, riscv64)
#  7. the auth registry: `docker login --password-stdin`, buildx --push, anonymous access refused
set -Eeuo pipefail

STATE=${GIA_BENCH_STATE:-/var/lib/gia-bench}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXAMPLES=$ROOT/examples
[ -f "$STATE/bench.env" ] || {
  echo "verify: $STATE/bench.env missing: run scripts/bench-up.sh first" >&2
  exit 1
}
# shellcheck disable=SC1091
. "$STATE/bench.env"
# shellcheck disable=SC1091
. "$STATE/registry-auth.env"

REPO=$GIA_REGISTRY/gia-bench-verify
VERSION=1.2.3
COMMIT=0123456789abcdef0123456789abcdef01234567
DATE=2024-05-01T12:00:00Z
BUILD_ARGS=(--build-arg "VERSION=$VERSION" --build-arg "COMMIT=$COMMIT" --build-arg "DATE=$DATE"
  --build-arg "GO_IMAGE=$GIA_GO_IMAGE" --build-arg "BASE_IMAGE=$GIA_BASE_IMAGE")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gia-verify.XXXXXX")
LOG=$WORK/build.log
# shellcheck disable=SC2154 # rc is assigned inside the trap
trap 'rc=$?; [ "$rc" = 0 ] || { echo "[verify] FAILED (exit $rc) at line $LINENO: $BASH_COMMAND" >&2; [ -s "$LOG" ] && tail -30 "$LOG" >&2; }; rm -rf "$WORK"' EXIT

step_t0=0
step() {
  step_t0=$SECONDS
  printf '[verify] %s\n' "$*"
}
pass() { printf '[verify]   ok (%ss) %s\n' "$((SECONDS - step_t0))" "$*"; }
fail() {
  printf '[verify]   FAIL %s\n' "$*" >&2
  exit 1
}
build() { docker buildx build --progress=plain "$@" >"$LOG" 2>&1; }
index_platforms() { # REF -> "linux/amd64 linux/arm64" (attestation entries left out)
  docker buildx imagetools inspect --raw "$1" |
    jq -r '[.manifests[] | select(.platform.os != "unknown") | .platform | .os + "/" + .architecture + (if .variant then "/" + .variant else "" end)] | sort | join(" ")'
}
expect_eq() { # WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# 1 ---------------------------------------------------------------------------------------------
step "1. hello-cli: buildx build --platform linux/amd64,linux/arm64 --push"
build -f "$EXAMPLES/hello/cmd/hello-cli/Dockerfile" --platform linux/amd64,linux/arm64 \
  "${BUILD_ARGS[@]}" -t "$REPO/hello-cli:$VERSION" --push "$EXAMPLES/hello"
expect_eq "platforms in the pushed index" "$(index_platforms "$REPO/hello-cli:$VERSION")" "linux/amd64 linux/arm64"
want="hello-cli $VERSION (commit $COMMIT, built $DATE)"
for p in linux/arm64 linux/amd64; do
  expect_eq "docker run --platform $p --version" \
    "$(docker run --rm -q --pull always --platform "$p" "$REPO/hello-cli:$VERSION" --version)" "$want"
done
pass "index with linux/amd64 + linux/arm64; arm64 under QEMU prints '$want'"

# 2 ---------------------------------------------------------------------------------------------
step "2. hello-web: multi-platform --load, run both, docker push, same digest"
build -f "$EXAMPLES/hello/cmd/hello-web/Dockerfile" --platform linux/amd64,linux/arm64 \
  "${BUILD_ARGS[@]}" -t "$REPO/hello-web:$VERSION" --load "$EXAMPLES/hello"
loaded=$(docker image inspect --format '{{.Id}}' "$REPO/hello-web:$VERSION")
for p in linux/amd64 linux/arm64; do
  expect_eq "hello-web --version on $p" \
    "$(docker run --rm --platform "$p" "$REPO/hello-web:$VERSION" --version)" \
    "hello-web $VERSION (commit $COMMIT, built $DATE)"
done
cid=$(docker run -d --rm --platform linux/arm64 -p 127.0.0.1::8080 "$REPO/hello-web:$VERSION")
port=$(docker port "$cid" 8080/tcp | head -1 | sed 's/.*://')
body=""
for _ in $(seq 1 50); do
  body=$(curl -fsS -m 2 "http://127.0.0.1:$port/?name=gopher" 2>/dev/null) && break
  sleep 0.2
done
docker stop "$cid" >/dev/null
expect_eq "GET / on the published port (arm64 container)" "$body" "Hello, Gopher!"
pushed=$(docker push "$REPO/hello-web:$VERSION" | sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p')
expect_eq "pushed digest = loaded image ID" "$pushed" "$loaded"
expect_eq "platforms in the pushed index" "$(index_platforms "$REPO/hello-web:$VERSION")" "linux/amd64 linux/arm64"
attest=$(docker buildx imagetools inspect --raw "$REPO/hello-web:$VERSION" |
  jq '[.manifests[] | select(.platform.os == "unknown")] | length')
pass "loaded $loaded = pushed; both platforms run; port mapping works; $attest attestation entries in the index"

# 3 ---------------------------------------------------------------------------------------------
step "3. broken-version: prints the wrong version"
build --platform linux/amd64,linux/arm64 "${BUILD_ARGS[@]}" -t "$REPO/broken-version:$VERSION" --load \
  "$EXAMPLES/broken-version"
got=$(docker run --rm --platform linux/arm64 "$REPO/broken-version:$VERSION" --version)
[ "$got" != "broken-version $VERSION (commit $COMMIT, built $DATE)" ] || fail "broken-version printed the right version"
case $got in *0.0.0-wrong*) ;; *) fail "broken-version printed '$got'" ;; esac
pass "'$got'"

# 4 ---------------------------------------------------------------------------------------------
step "4. build network: a RUN step downloads a module from the Go module proxy"
mkdir -p "$WORK/net"
cat >"$WORK/net/Dockerfile" <<'EOF'
ARG GO_IMAGE
FROM ${GO_IMAGE}
ARG NONCE
RUN echo "$NONCE" && GOMODCACHE=/tmp/modcache go mod download -json golang.org/x/text@v0.35.0 | grep '"Zip"'
EOF
build --no-cache --build-arg "GO_IMAGE=$GIA_GO_IMAGE" --build-arg "NONCE=$$-$RANDOM" "$WORK/net"
grep -q '"Zip"' "$LOG" || fail "go mod download in a RUN step printed no zip"
pass "go mod download inside 'docker buildx build' (the docker driver runs RUN steps on the host network)"

# 5 ---------------------------------------------------------------------------------------------
step "5. run network: docker run (default bridge network) downloads a module"
docker run --rm -e GOMODCACHE=/tmp/modcache "$GIA_GO_IMAGE" \
  go mod download -json golang.org/x/text@v0.35.0 >"$LOG" 2>&1 || fail "go mod download in docker run failed"
grep -q '"Zip"' "$LOG" || fail "go mod download in docker run printed no zip"
pass "docker run on the default bridge: DNS and HTTPS out work"

# 6 ---------------------------------------------------------------------------------------------
step "6. foreign RUN steps under QEMU"
mkdir -p "$WORK/foreign"
cat >"$WORK/foreign/main.go" <<'EOF'
package main

import (
	"fmt"
	"runtime"
)

func main() { fmt.Println("RUN-STEP-ARCH", runtime.GOARCH) }
EOF
printf 'module foreign\n\ngo 1.26\n' >"$WORK/foreign/go.mod"
cat >"$WORK/foreign/Dockerfile" <<'EOF'
ARG GO_IMAGE
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
COPY . .
ARG TARGETARCH TARGETVARIANT
RUN v="${TARGETVARIANT#v}"; CGO_ENABLED=0 GOARCH=$TARGETARCH GOARM=${v:-7} go build -o /prog .
FROM scratch
COPY --from=build /prog /prog
ARG NONCE
RUN ["/prog"]
EOF
build --build-arg "GO_IMAGE=$GIA_GO_IMAGE" --build-arg "NONCE=$$-$RANDOM" \
  --platform linux/arm64,linux/arm/v7,linux/386,linux/riscv64 "$WORK/foreign"
archs=$(grep -o 'RUN-STEP-ARCH [a-z0-9]*' "$LOG" | awk '{print $2}' | sort -u | paste -sd' ' -)
expect_eq "architectures that ran a RUN step" "$archs" "386 arm arm64 riscv64"
pass "RUN steps ran as: $archs"

# 7 ---------------------------------------------------------------------------------------------
step "7. auth registry $GIA_REGISTRY_AUTH_HOST: login --password-stdin, buildx --push, anonymous refused"
export DOCKER_CONFIG=$WORK/docker-config
mkdir -p "$DOCKER_CONFIG"
printf '%s' "$GIA_REGISTRY_PASSWORD" |
  docker login "$GIA_REGISTRY_AUTH_HOST" -u "$GIA_REGISTRY_USER" --password-stdin >"$LOG" 2>&1 ||
  fail "docker login $GIA_REGISTRY_AUTH_HOST failed"
build -f "$EXAMPLES/hello/cmd/hello-cli/Dockerfile" --platform linux/amd64,linux/arm64 \
  "${BUILD_ARGS[@]}" -t "$GIA_REGISTRY_AUTH_HOST/gia-bench-verify/hello-cli:$VERSION" --push "$EXAMPLES/hello"
expect_eq "platforms in the index on the auth registry" \
  "$(index_platforms "$GIA_REGISTRY_AUTH_HOST/gia-bench-verify/hello-cli:$VERSION")" "linux/amd64 linux/arm64"
docker logout "$GIA_REGISTRY_AUTH_HOST" >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$GIA_REGISTRY_AUTH_HOST/v2/gia-bench-verify/hello-cli/tags/list")
expect_eq "anonymous tag list on $GIA_REGISTRY_AUTH_HOST" "$code" 401
unset DOCKER_CONFIG
pass "login, push and inspect with credentials; anonymous gets 401"

docker image rm "$REPO/hello-cli:$VERSION" "$REPO/hello-web:$VERSION" "$REPO/broken-version:$VERSION" \
  "$GIA_REGISTRY_AUTH_HOST/gia-bench-verify/hello-cli:$VERSION" >/dev/null 2>&1 || true
echo "[verify] all checks passed"
