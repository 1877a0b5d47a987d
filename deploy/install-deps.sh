#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test Sluice.
# Idempotent: packages already present are skipped; apt-get runs only when needed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libasio-dev libabsl-dev libprotobuf-dev protobuf-compiler librocksdb-dev
  libfmt-dev catch2 zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
  librdkafka-dev kcat python3 python3-confluent-kafka python3-kafka
  nodejs npm valgrind libcpp-httplib-dev nlohmann-json3-dev prometheus
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  python3-kubernetes python3-yaml podman debootstrap libssl-dev libre2-dev
)
# deploy/k8s is rendered with kubectl's kustomize; Debian's kubectl when none is installed.
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

missing=()
for p in "${packages[@]}"; do
  # nodesource's nodejs ships npm itself; do not ask apt for Debian's npm then.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
