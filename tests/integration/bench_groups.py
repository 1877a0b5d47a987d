"""Group coordinator benchmark: OffsetCommit throughput, then the reload time of many groups
after a broker restart.

Run (from tests/integration):
  SLUICE_BUILD_DIR=<build> /usr/bin/python3 bench_groups.py [--groups 1000] [--partitions 10]
      [--rounds 10] [--connections 8] [--pipeline 16] [--seconds 10]

Commits are group-less (generation -1) OffsetCommit v2 requests of `partitions` offsets each,
pipelined on several connections; one request = one commit.
"""
import argparse
import re
import struct
import threading
import time

import group_wire as gw
from harness import Cluster, wait_until
from test_groups import create_topic

TOPIC = "bench-offsets"


def commit_request(group, partitions, offset, correlation):
    parts = [struct.pack(">iq", p, offset) + gw.string("") for p in range(partitions)]
    body = (gw.string(group) + struct.pack(">i", -1) + gw.string("") + struct.pack(">q", -1) +
            gw._array([gw.string(TOPIC) + gw._array(parts)]))
    return gw.request(8, 2, correlation, body)


def pipelined_commits(port, groups, partitions, pipeline, deadline, counts, index):
    """Commits round-robin over `groups` until `deadline`, keeping `pipeline` requests in flight."""
    conn = gw.connect(port)
    sent = done = 0
    while True:
        while sent - done < pipeline and time.monotonic() < deadline:
            conn.send(commit_request(groups[sent % len(groups)], partitions, sent, sent))
            sent += 1
        if sent == done:
            break
        frame = conn.receive()
        if frame is None:
            raise AssertionError("broker closed the connection")
        r = gw.Reader(frame)
        r.take(">i")  # correlation id
        for _ in range(r.take(">i")):
            r.string()
            errors = [r.take(">ih")[1] for _ in range(r.take(">i"))]
            if any(errors):
                raise AssertionError(f"commit failed: {errors}")
        done += 1
    counts[index] = done
    conn.close()


def run(args):
    overrides = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "50"}
    with Cluster(broker_overrides=overrides) as cluster:
        port = cluster.broker_ports[0]
        create_topic(cluster.bootstrap, TOPIC, args.partitions)
        groups = [f"bench-group-{i}" for i in range(args.groups)]
        conn = gw.connect(port)
        wait_until(lambda: gw.coordinator_ready(conn, groups[0]), 60, "the coordinator")
        for group in groups:
            wait_until(lambda: gw.coordinator_ready(conn, group), 60, f"the coordinator of {group}")

        # 1. Throughput (skipped with --seconds 0).
        counts = [0] * args.connections
        deadline = time.monotonic() + args.seconds
        start = time.monotonic()
        threads = [threading.Thread(target=pipelined_commits,
                                    args=(port, groups[i::args.connections], args.partitions, args.pipeline, deadline,
                                          counts, i)) for i in range(args.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        total = sum(counts)
        if args.seconds > 0:
            print(f"commit throughput: {total} commits ({total * args.partitions} offsets) in {elapsed:.1f} s = "
                  f"{total / elapsed:.0f} commits/s ({total * args.partitions / elapsed:.0f} offsets/s), "
                  f"{args.connections} connections x {args.pipeline} in flight")

        # 2. Every group commits `rounds` times, then the broker restarts and reloads them all.
        for round_ in range(args.rounds):
            for group in groups:
                result = gw.offset_commit(conn, group, -1, "", TOPIC, {p: 1000 + round_ for p in range(args.partitions)})
                assert set(result.values()) == {0}, result
        conn.close()
        expected = 1000 + args.rounds - 1
        broker = cluster.brokers[0]
        broker.stop()
        restart = time.monotonic()
        cluster.start_broker(0)
        listening = time.monotonic() - restart
        conn = gw.connect(port)
        for group in groups:
            offsets = wait_until(lambda: gw.offset_fetch_retrying(conn, group, TOPIC, range(args.partitions)), 120,
                                 f"{group} to reload")
            assert set(offsets.values()) == {expected}, (group, offsets)
        all_loaded = time.monotonic() - restart
        conn.close()
        loads = [int(ms) for ms in re.findall(r"loaded __consumer_offsets-\d+: .* in (\d+) ms", broker.log())]
        records = sum(int(n) for n in re.findall(r"loaded __consumer_offsets-\d+: .* from (\d+) records", broker.log()))
        # The log holds both runs' loads: the restart's are the last 50.
        print(f"reload: {args.groups} groups x {args.partitions} partitions ({records} records replayed): "
              f"broker listening after {listening:.2f} s, every group's offsets served after {all_loaded:.2f} s; "
              f"replay time summed over partitions {sum(loads[-50:])} ms, slowest partition {max(loads[-50:])} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--pipeline", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
