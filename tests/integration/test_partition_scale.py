"""Partition counts users run: one broker hosting 10,000 partitions within its descriptor
budget, and a partition that cannot be hosted reported offline rather than acknowledged."""
import os
import time
import unittest

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire
from harness import Cluster, wait_until

PARTITIONS = 10_000
LEAD_WITHIN_S = 60
RESTART_WITHIN_S = 10
RSS_PER_PARTITION_KB = 1024
CACHE_SIZE = 1000


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def with_file_limit(cluster, index, limit):
    """Runs broker `index` under a hard and soft RLIMIT_NOFILE of `limit`."""
    broker = cluster.brokers[index]
    broker.argv = ["prlimit", f"--nofile={limit}:{limit}", "--", *broker.argv]


def produce_one_to_each(bootstrap, topic, partitions, timeout):
    """Produces one record to every partition; returns the seconds until all were acknowledged."""
    started = time.monotonic()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "message.timeout.ms": timeout * 1000,
                         "queue.buffering.max.messages": partitions + 1000})
    failures = []
    for partition in range(partitions):
        producer.produce(topic, b"v", partition=partition,
                         on_delivery=lambda error, message: failures.append(error) if error else None)
    left = producer.flush(timeout + 10)
    if left or failures:
        raise AssertionError(f"{left} records unacknowledged, {len(failures)} failed (first: {failures[:3]})")
    return time.monotonic() - started


def topic_partitions(admin, topic):
    return admin.list_topics(topic, timeout=30).topics[topic].partitions


class TenThousandPartitionsTest(unittest.TestCase):
    def test_ten_thousand_partitions_on_one_broker(self):
        cluster = Cluster(brokers=1, broker_overrides={"log.fd.cache.size": str(CACHE_SIZE)})
        # Below three descriptors per partition: only the descriptor budget makes this fit.
        with_file_limit(cluster, 0, 16384)
        with cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            started = time.monotonic()
            admin.create_topics([NewTopic("many", PARTITIONS, 1)], operation_timeout=LEAD_WITHIN_S,
                                request_timeout=LEAD_WITHIN_S)["many"].result(LEAD_WITHIN_S + 10)
            produce_one_to_each(cluster.bootstrap, "many", PARTITIONS, LEAD_WITHIN_S)
            led = time.monotonic() - started
            pid = cluster.brokers[0].proc.pid
            rss, descriptors = rss_kb(pid), open_descriptors(pid)
            print(f"SCALE {PARTITIONS} partitions created and each acknowledged a write in {led:.1f} s; "
                  f"broker RSS {rss} kB ({rss / PARTITIONS:.1f} kB per partition), {descriptors} descriptors")
            self.assertLess(led, LEAD_WITHIN_S)
            self.assertLess(rss, RSS_PER_PARTITION_KB * PARTITIONS)
            self.assertLessEqual(descriptors, PARTITIONS + CACHE_SIZE + 300)

            broker = cluster.brokers[0]

            def stop_cleanly(when):
                stopping = time.monotonic()
                broker.stop(timeout=120)
                print(f"SCALE clean shutdown of {PARTITIONS} partitions {when} took {time.monotonic() - stopping:.1f} s")

            for how in ("SIGTERM", "kill -9"):
                if how == "SIGTERM":
                    stop_cleanly("after their first writes")
                else:
                    broker.kill9()
                restarted = time.monotonic()
                broker.start()
                # The broker listens once every replica the metadata names has its log open.
                cluster.wait_broker_ready(0, timeout=120)
                listening = time.monotonic() - restarted
                produce_one_to_each(cluster.bootstrap, "many", PARTITIONS, 60)
                serving = time.monotonic() - restarted
                print(f"SCALE restart after {how}: listening with every log open in {listening:.1f} s, "
                      f"a write acknowledged by each partition after {serving:.1f} s")
                self.assertLess(listening, RESTART_WITHIN_S)
                # One marker for the data directory vouches for every log after a clean shutdown.
                opened = [line for line in broker.log().splitlines() if " partition logs in " in line][-1]
                self.assertEqual("after a clean shutdown" in opened, how == "SIGTERM", opened)
            self.assertEqual(sum(p.error is None for p in topic_partitions(admin, "many").values()), PARTITIONS)
            self.assertNotIn("Too many open files", broker.log())
            stop_cleanly("after crash recovery")


class OfflinePartitionTest(unittest.TestCase):
    def test_a_partition_that_cannot_be_hosted_is_offline_and_never_acknowledged(self):
        cluster = Cluster(brokers=1, broker_overrides={"log.fd.cache.size": "16"})
        with_file_limit(cluster, 0, 256)
        with cluster:
            bootstrap = cluster.bootstrap
            admin = AdminClient({"bootstrap.servers": bootstrap})
            admin.create_topics([NewTopic("fits", 4, 1)])["fits"].result(30)
            produce_one_to_each(bootstrap, "fits", 4, 30)
            # More partitions than descriptors: the controller assigns them all, the broker
            # hosts what it can.
            admin.create_topics([NewTopic("over", 400, 1)], operation_timeout=60)["over"].result(60)
            partitions = wait_until(lambda: (lambda ps: ps if any(p.leader == -1 for p in ps.values()) else None)(
                topic_partitions(admin, "over")), 30, "partitions of 'over' reported offline")
            offline = sorted(i for i, p in partitions.items() if p.leader == -1)
            hosted = sorted(i for i, p in partitions.items() if p.leader == 1)
            print(f"SCALE under a 256-descriptor limit: {len(hosted)} partitions hosted, {len(offline)} offline")
            self.assertTrue(hosted, "no partition of 'over' was hosted")
            for i in offline:
                self.assertEqual(partitions[i].error.code(), KafkaError.LEADER_NOT_AVAILABLE)
            self.assertIn("the replica is offline", cluster.brokers[0].log())

            # A write sent to the broker anyway is refused with a storage error, not stored.
            connection = kafka_wire.Connection(cluster.broker_ports[0])
            connection.send(kafka_wire.request(0, 3, 7, kafka_wire.produce_v3(
                "over", offline[0], kafka_wire.record_batch([b"lost?"]), acks=1)))
            error, _ = kafka_wire.parse_produce_v3_response(connection.receive()[4:])
            connection.close()
            self.assertEqual(error, KafkaError.KAFKA_STORAGE_ERROR)
            # A client never gets an acknowledgement for it.
            producer = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 3000})
            outcome = []
            producer.produce("over", b"x", partition=offline[0], on_delivery=lambda e, m: outcome.append(e))
            producer.flush(15)
            self.assertEqual(len(outcome), 1)
            self.assertIsNotNone(outcome[0], "a write to an offline partition was acknowledged")

            # Everything else keeps working: the first topic takes writes and reads, as do the
            # hosted partitions of the second.
            produce_one_to_each(bootstrap, "fits", 4, 30)
            consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "scale", "enable.auto.commit": False})
            consumer.assign([TopicPartition("fits", 0, 0)])
            records = []
            wait_until(lambda: records.extend(m for m in consumer.consume(10, 0.5) if not m.error()) or len(records) >= 2,
                       30, "two records of fits-0")
            consumer.close()
            producer = Producer({"bootstrap.servers": bootstrap})
            producer.produce("over", b"y", partition=hosted[0])
            self.assertEqual(producer.flush(30), 0)

            # Descriptors freed, the same broker hosts new partitions again.
            admin.delete_topics(["over"], operation_timeout=60)["over"].result(60)
            admin.create_topics([NewTopic("after", 50, 1)])["after"].result(30)
            wait_until(lambda: all(p.leader == 1 for p in topic_partitions(admin, "after").values()), 30,
                       "every partition of 'after' hosted")
            produce_one_to_each(bootstrap, "after", 50, 30)

    def test_leadership_moves_off_a_replica_its_broker_cannot_host(self):
        cluster = Cluster(brokers=3, controllers=1, broker_overrides={"log.fd.cache.size": "16"})
        with_file_limit(cluster, 1, 256)  # broker 2
        with cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            admin.create_topics([NewTopic("spread", 300, 3)], operation_timeout=60)["spread"].result(60)
            offline_on_2 = set()

            def reported():
                offline_on_2.update(int(line.split("spread-")[1].split(":")[0]) for line in
                                    cluster.brokers[1].log().splitlines() if "the replica is offline" in line)
                return offline_on_2
            wait_until(reported, 30, "broker 2 to report replicas it cannot host")

            def moved():
                partitions = topic_partitions(admin, "spread")
                return all(partitions[i].leader not in (-1, 2) and 2 not in partitions[i].isrs for i in offline_on_2)
            wait_until(moved, 30, "leadership and ISR membership to leave broker 2's offline replicas")
            print(f"SCALE broker 2 under a 256-descriptor limit: {len(offline_on_2)} of its replicas offline, "
                  f"each led elsewhere")
            # Every leader holds the data: an acks=all write to each partition is acknowledged.
            produce_one_to_each(cluster.bootstrap, "spread", 300, 60)
            self.assertIn("reporting", cluster.brokers[1].log())

            # The offline replicas come back when descriptors are free again: the topic goes,
            # and a new one is hosted by all three brokers.
            admin.delete_topics(["spread"], operation_timeout=60)["spread"].result(60)
            admin.create_topics([NewTopic("again", 30, 3)])["again"].result(30)
            wait_until(lambda: all(sorted(p.isrs) == [1, 2, 3] for p in topic_partitions(admin, "again").values()), 60,
                       "every replica of 'again' in sync")
            produce_one_to_each(cluster.bootstrap, "again", 30, 30)


if __name__ == "__main__":
    unittest.main()
