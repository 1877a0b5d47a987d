#!/usr/bin/env bash
# Builds librdkafka 2.15.1 and its test runner from the copy that ships inside the npm package
# @confluentinc/kafka-javascript@1.10.1 (deps/librdkafka), against Debian's libraries: configure
# runs with --no-download, so nothing but the npm package is fetched. Incremental: a finished
# build is reused.
#   build.sh DIR   -> DIR/librdkafka/tests/test-runner, DIR/librdkafka/src/librdkafka.so.1
set -euo pipefail
out=${1:?usage: build.sh DIR}
package="@confluentinc/kafka-javascript@1.10.1"
want_version="2.15.1"
mkdir -p "$out"
out=$(cd "$out" && pwd)
src="$out/librdkafka"

if [ -x "$src/tests/test-runner" ] && [ -f "$src/.sluice-built" ]; then
  exit 0
fi

tarball=$(ls "$out"/confluentinc-kafka-javascript-1.10.1.tgz 2>/dev/null || true)
if [ -z "$tarball" ]; then
  # npm verifies the tarball against the registry's integrity hash.
  (cd "$out" && npm pack --silent "$package" >/dev/null)
  tarball="$out/confluentinc-kafka-javascript-1.10.1.tgz"
fi
rm -rf "$out/package" "$src"
tar -xzf "$tarball" -C "$out" package/deps/librdkafka
mv "$out/package/deps/librdkafka" "$src"
rm -rf "$out/package"

version=$(sed -n 's/^#define RD_KAFKA_VERSION  *0x\([0-9a-f]*\).*/\1/p' "$src/src/rdkafka.h")
[ "$version" = "020f01ff" ] || { echo "librdkafka build: expected $want_version, found 0x$version" >&2; exit 1; }

cd "$src"
# SASL/GSSAPI and the HTTP client (OIDC) are left out: the curated tests use neither.
./configure --no-download --disable-gssapi --disable-curl >"$out/configure.log" 2>&1 ||
  { tail -20 "$out/configure.log" >&2; exit 1; }
jobs=$(nproc)
make -j"$jobs" libs >"$out/make-libs.log" 2>&1 || { tail -30 "$out/make-libs.log" >&2; exit 1; }
make -C tests -j"$jobs" test-runner >"$out/make-tests.log" 2>&1 || { tail -30 "$out/make-tests.log" >&2; exit 1; }
touch "$src/.sluice-built"
