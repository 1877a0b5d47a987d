#!/usr/bin/env bash
# Runs a client test program against a fresh sluice-mock-broker and stops the mock after.
# usage: run_against_mock.sh MOCK_BROKER CLIENT [client args...]
# The client gets "--bootstrap <mock> --topic selfcheck" in front of the given args;
# the mock pre-creates that topic with 6 partitions (it has no CreateTopics controller).
# The mock keeps only the newest 5 MiB per partition: keep messages x ~1 KB / 6 below that.
set -euo pipefail
mock=$1 client=$2
shift 2

workdir=$(mktemp -d)
mock_pid=
cleanup() {
  if [[ -n $mock_pid ]] && kill -0 "$mock_pid" 2>/dev/null; then
    kill -TERM "$mock_pid"
    for _ in $(seq 100); do kill -0 "$mock_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$mock_pid" 2>/dev/null && { echo "mock broker ignored SIGTERM; killing" >&2; kill -KILL "$mock_pid"; }
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

"$mock" --topic selfcheck:6 >"$workdir/mock.out" 2>"$workdir/mock.err" </dev/null &
mock_pid=$!

bootstrap=
for _ in $(seq 100); do  # up to 10 s for the mock to listen
  bootstrap=$(awk '$1 == "BOOTSTRAP" {print $2; exit}' "$workdir/mock.out")
  [[ -n $bootstrap ]] && break
  kill -0 "$mock_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $bootstrap ]]; then
  echo "FAIL: sluice-mock-broker printed no BOOTSTRAP line within 10 s" >&2
  cat "$workdir/mock.err" >&2
  exit 1
fi

"$client" --bootstrap "$bootstrap" --topic selfcheck "$@"
