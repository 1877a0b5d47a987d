"""Controller failover time: kill -9 of the quorum leader until a write (CreateTopics through a
broker with a real client) succeeds, i.e. a new leader was elected, passed its barrier, was found
by the broker and committed the change. Median of several trials; the killed voter is restarted
and caught up before the next one.

Run (from tests/integration):
  SLUICE_BUILD_DIR=<build> /usr/bin/python3 bench_controller_failover.py [--trials 7] [--controllers 3]
      [--election-timeout-ms 1000]
"""
import argparse
import statistics
import time

from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster, wait_until


def create(client, name):
    for future in client.create_topics([NewTopic(name, 1, 1)], operation_timeout=30, request_timeout=60).values():
        future.result(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--controllers", type=int, default=3)
    parser.add_argument("--election-timeout-ms", type=int, default=1000)
    args = parser.parse_args()
    overrides = {"controller.quorum.election.timeout.ms": str(args.election_timeout_ms)}
    with Cluster(brokers=1, controllers=args.controllers, controller_overrides=overrides) as cluster:
        client = AdminClient({"bootstrap.servers": cluster.bootstrap})
        create(client, "warm-up")
        figures = []
        for trial in range(args.trials):
            leader = cluster.wait_for_quorum_leader()
            victim = cluster.controllers[cluster.controller_index(leader)]
            start = time.monotonic()
            victim.kill9()
            create(client, f"after-kill-{trial}")
            figures.append(time.monotonic() - start)
            print(f"trial {trial + 1}: leader {leader} killed, write answered after {figures[-1] * 1000:.0f} ms",
                  flush=True)
            victim.start()
            high_watermark = cluster.describe_quorum()["high_watermark"]

            def rejoined():
                state = cluster.describe_quorum()
                voter = next((v for v in (state or {}).get("voters", []) if v["id"] == leader), None)
                return voter is not None and voter["log_end_offset"] >= high_watermark
            wait_until(rejoined, 60, f"controller {leader} to rejoin")
        print(f"controller failover (kill -9 of the leader until a write commits), {args.controllers} voters, "
              f"election timeout {args.election_timeout_ms} ms: median {statistics.median(figures) * 1000:.0f} ms, "
              f"min {min(figures) * 1000:.0f} ms, max {max(figures) * 1000:.0f} ms over {len(figures)} trials")


if __name__ == "__main__":
    main()
