"""A replica that led an epoch in which nothing was appended follows the next leader (a bug the
fault suite found, fixed by PartitionLog::TruncateTo dropping such an epoch at the log end).

Found by the fault suite (tests/fault/run_fault.py --seed 1004: the preferred-leader rebalance
moved __consumer_offsets-1, still empty, back to its preferred broker; the broker that had led
it meanwhile logged "truncating to 0 to follow broker 3 (epoch 2)" every 500 ms for good and
never rejoined the ISR).

Becoming leader puts (epoch, log end) into the replica's leader-epoch cache. As a follower it
then fetches with that epoch as its last fetched one; the new leader does not know the epoch,
answers a diverging epoch ending at the follower's own log end, and the follower truncates to
its log end -- which PartitionLog::TruncateTo treats as nothing to do, keeping the cache entry
that caused it. Kafka drops cache entries at or beyond the log end even then (UnifiedLog
.truncateTo: "we may have a conflicting epoch entry at the end of the log ... if this broker
was a leader and inserted the first start offset entry, but then failed to append any entries
before another leader was elected").

Deterministic: broker 1 leads epoch 0 of an empty partition; SIGSTOP past its session timeout
has it fenced and broker 2 leads epoch 1 (nothing written); SIGCONT, broker 1 registers again
and rejoins the ISR; a preferred election gives it epoch 2, its cache now holding epochs 0 and
2. Broker 2 must then copy what is written. (A restart instead of SIGSTOP hides the bug: the
restarted broker forgets its epoch-0 entry, which has no batch.)
"""
import glob
import os
import unittest

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire
from harness import Cluster, wait_until

TOPIC = "idle"


def state(cluster):
    """(leader, isr) of idle-0, or None while unknown."""
    try:
        info = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(TOPIC, timeout=5).topics[TOPIC]
    except Exception:  # a broker of the bootstrap list may be down
        return None
    p = info.partitions.get(0) if info.error is None else None
    return (p.leader, sorted(p.isrs)) if p else None


def produce(cluster, values):
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
    for value in values:
        producer.produce(TOPIC, value, partition=0)
    assert producer.flush(30) == 0, "records to idle-0 undelivered"


def replica_bytes(cluster, broker):
    paths = sorted(glob.glob(os.path.join(cluster.dir, f"broker-{broker}", f"{TOPIC}-0", "*.log")))
    data = b""
    for path in paths:
        with open(path, "rb") as f:
            data += f.read()
    return data


class EmptyEpochFollowerTest(unittest.TestCase):
    def test_a_replica_that_led_an_empty_epoch_follows_the_next_leader(self):
        self.check(records_before=0)

    def test_the_same_when_the_partition_already_holds_data(self):
        # Seed 1065: fault-4 held 255 records, broker 2 led epoch 1 without an append, and then
        # logged 'truncating to 255 to follow broker 3 (epoch 3)' a million times in 90 s.
        self.check(records_before=100)

    def check(self, records_before):
        with Cluster(brokers=3, controllers=1,
                     controller_overrides={"broker.session.timeout.ms": "3000", "auto.leader.rebalance.enable": "false"},
                     broker_overrides={"broker.heartbeat.interval.ms": "500", "replica.lag.time.max.ms": "3000"}) as cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[1, 2, 3]])])[TOPIC].result(30)
            wait_until(lambda: state(cluster) == (1, [1, 2, 3]), 30, "idle-0 led by 1 with ISR 1,2,3")
            produce(cluster, [b"before-%d" % i for i in range(records_before)])

            cluster.brokers[0].pause()  # fenced once its lease lapses: broker 2 leads epoch 1, nothing is written
            wait_until(lambda: (state(cluster) or (0,))[0] == 2, 30, "idle-0 led by broker 2")
            cluster.brokers[0].resume()
            wait_until(lambda: state(cluster) == (2, [1, 2, 3]), 30, "broker 1 back in the ISR of idle-0")
            _, results = kafka_wire.elect_leaders_v1(cluster.broker_ports[2], 0, {TOPIC: [0]})
            self.assertEqual(results[(TOPIC, 0)], 0, "preferred election of idle-0")
            wait_until(lambda: (state(cluster) or (0,))[0] == 1, 30, "idle-0 led by broker 1 again (epoch 2)")

            produce(cluster, [b"after-%d" % i for i in range(10)])
            try:
                wait_until(lambda: replica_bytes(cluster, 1) == replica_bytes(cluster, 2) == replica_bytes(cluster, 3),
                           20, f"all three replicas of idle-0 to hold the {records_before + 10} records")
            except AssertionError:
                loops = cluster.brokers[1].log().count(
                    f"partition {TOPIC}-0: truncating to {records_before} to follow broker 1")
                self.fail(f"broker 2 never copied idle-0 (sizes {[len(replica_bytes(cluster, b)) for b in (1, 2, 3)]},"
                          f" ISR {state(cluster)}); its log says 'truncating to {records_before} to follow broker 1'"
                          f" {loops} times")


if __name__ == "__main__":
    unittest.main()
