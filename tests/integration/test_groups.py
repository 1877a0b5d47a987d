"""Consumer groups and committed offsets with real clients (confluent-kafka/librdkafka,
kafka-python, kafkajs) and hand-made requests for the error paths.

Run: SLUICE_BUILD_DIR=<build> /usr/bin/python3 -m unittest test_groups   (from tests/integration)
"""
import os
import struct
import subprocess
import threading
import time
import unittest

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient
from kafka.errors import NoError
from kafka.structs import OffsetAndMetadata
from kafka import TopicPartition as KTopicPartition

import group_wire as gw
from harness import DEFAULT_BROKERS, REPLICATION, Cluster, wait_until

JS_DIR = os.path.join(os.path.dirname(__file__), "js")
# A short initial rebalance delay keeps the tests quick; the default (3 s) only adds waiting.
OVERRIDES = {"group.initial.rebalance.delay.ms": "300", "offsets.topic.num.partitions": "10"}


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, REPLICATION)])
    futures[name].result(30)


def produce(bootstrap, topic, count, partitions, prefix="m"):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        producer.produce(topic, value=f"{prefix}-{i}".encode(), partition=i % partitions)
    remaining = producer.flush(30)
    if remaining:
        raise AssertionError(f"{remaining} messages not delivered")


class Member:
    """A confluent-kafka consumer that records its assignment and what it consumed."""

    def __init__(self, bootstrap, group, topic, **extra):
        self.assigned, self.revocations, self.revoked, self.seen = set(), 0, [], []
        self.incremental = extra.get("partition.assignment.strategy") == "cooperative-sticky"
        config = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                  "topic.metadata.refresh.interval.ms": 2000}
        config.update(extra)
        self.consumer = Consumer(config)
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer, partitions):
        added = {p.partition for p in partitions}
        self.assigned = self.assigned | added if self.incremental else added

    def _on_revoke(self, consumer, partitions):
        self.revocations += 1
        self.revoked.append({p.partition for p in partitions})
        self.assigned = self.assigned - self.revoked[-1] if self.incremental else set()

    def poll(self, timeout=0.05):
        message = self.consumer.poll(timeout)
        if message is not None and not message.error():
            self.seen.append((message.partition(), message.offset(), message.value()))
        return message

    def close(self):
        self.consumer.close()


def poll_until(members, condition, timeout, what):
    def step():
        for member in members:
            member.poll(0.02)
        return condition()
    wait_until(step, timeout, what, interval=0)


# Raw-frame tests address broker 1 as every group's coordinator, which holds with one broker;
# with several (SLUICE_TEST_TOPOLOGY=3x3) the client tests of this suite still run.
one_broker_only = unittest.skipIf(DEFAULT_BROKERS > 1, "raw frames go to broker 1 as the coordinator")


class GroupsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(broker_overrides=OVERRIDES).__enter__()
        cls.bootstrap = cls.cluster.bootstrap
        cls.port = cls.cluster.broker_ports[0]
        if DEFAULT_BROKERS > 1:
            return
        conn = gw.connect(cls.port)
        for group in ("static-raw", "errors", "never-created", "filter-empty"):
            wait_until(lambda: gw.coordinator_ready(conn, group), 30, f"the coordinator of {group}")
        conn.close()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.__exit__(None, None, None)

    def test_three_consumers_share_partitions_then_take_over(self):
        topic, group = "share-12", "share-group"
        create_topic(self.bootstrap, topic, 12)
        produce(self.bootstrap, topic, 1200, 12)
        members = [Member(self.bootstrap, group, topic) for _ in range(3)]

        def balanced(active):
            sets = [m.assigned for m in active]
            union = set().union(*sets)
            return all(sets) and union == set(range(12)) and sum(map(len, sets)) == 12
        poll_until(members, lambda: balanced(members), 60, "3 members to share 12 partitions")
        poll_until(members, lambda: len({(p, o) for m in members for p, o, _ in m.seen}) == 1200, 60,
                   "all 1200 messages consumed")
        for m in members:
            self.assertTrue(all(p in m.assigned for p, _, _ in m.seen), "consumed outside its assignment")

        leaver = members.pop()
        taken = set(leaver.assigned)
        leaver.close()
        poll_until(members, lambda: balanced(members), 60, "2 members to take over all 12 partitions")
        self.assertTrue(taken <= members[0].assigned | members[1].assigned)

        # Nothing was committed, so the new owners start over; new messages reach them too.
        produce(self.bootstrap, topic, 120, 12, prefix="after")

        def after():
            return [v for m in members for _, _, v in m.seen if v.startswith(b"after")]
        poll_until(members, lambda: len(set(after())) == 120, 60, "messages produced after the leave")
        self.assertEqual(sorted(after()), sorted(f"after-{i}".encode() for i in range(120)), "duplicates")

        # A new member joins: the group rebalances to three again.
        members.append(Member(self.bootstrap, group, topic))
        poll_until(members, lambda: balanced(members), 60, "a joining member to get partitions")
        for m in members:
            m.close()

    def test_commits_are_resumed_exactly_by_a_new_consumer(self):
        topic, group = "resume-4", "resume-group"
        create_topic(self.bootstrap, topic, 4)
        produce(self.bootstrap, topic, 1000, 4)
        first = Member(self.bootstrap, group, topic)
        poll_until([first], lambda: len(first.seen) >= 400, 60, "the first consumer to read 400 messages")
        next_offsets = {}
        for partition, offset, _ in first.seen:
            next_offsets[partition] = max(next_offsets.get(partition, 0), offset + 1)
        first.consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in next_offsets.items()],
                              asynchronous=False)
        first.close()

        second = Member(self.bootstrap, group, topic)
        committed = second.consumer.committed([TopicPartition(topic, p) for p in range(4)], timeout=30)
        self.assertEqual({tp.partition: tp.offset for tp in committed if tp.offset >= 0}, next_offsets)
        expected = 1000 - sum(next_offsets.values())
        poll_until([second], lambda: len(second.seen) >= expected, 60, f"the second consumer to read {expected}")
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            second.poll()
        firsts = {}
        for partition, offset, _ in second.seen:
            firsts[partition] = min(firsts.get(partition, offset), offset)
        self.assertEqual(len(second.seen), expected, "duplicates or gaps after resuming")
        for partition, offset in next_offsets.items():
            self.assertEqual(firsts.get(partition, offset), offset, f"partition {partition} did not resume exactly")
        second.close()

    @one_broker_only
    def test_static_member_rejoin_keeps_generation(self):
        conn = gw.connect(self.port)
        group = "static-raw"
        joined = gw.join_group(conn, group, "", instance="instance-a")
        self.assertEqual(joined["error"], 0)
        generation, member = joined["generation"], joined["member_id"]
        self.assertEqual(gw.sync_group(conn, group, generation, member, "instance-a", {member: b"A"}),
                         (0, b"A"))
        rejoined = gw.join_group(conn, group, "", instance="instance-a")
        self.assertEqual(rejoined["error"], 0)
        self.assertEqual(rejoined["generation"], generation, "a static rejoin must not start a new generation")
        self.assertNotEqual(rejoined["member_id"], member)
        self.assertEqual(gw.sync_group(conn, group, generation, rejoined["member_id"], "instance-a", {}), (0, b"A"))
        self.assertEqual(gw.heartbeat(conn, group, generation, member, "instance-a"), gw.FENCED_INSTANCE_ID)
        self.assertEqual(gw.heartbeat(conn, group, generation, rejoined["member_id"], "instance-a"), 0)
        conn.close()

    @one_broker_only
    def test_silent_static_member_does_not_start_generation_after_generation(self):
        # Found by a wire fuzzer: a static member that joined with a 100 ms rebalance timeout and
        # never synced made the group start a new generation every 200 ms until its session
        # expired. As in Kafka, the group now waits for a member to rejoin.
        conn = gw.connect(self.port)
        group = "static-silent"
        wait_until(lambda: gw.coordinator_ready(conn, group), 30, f"coordinator of {group} loaded")
        joined = gw.join_group(conn, group, "", instance="instance-s", session_timeout=6000, rebalance_timeout=100)
        self.assertEqual(joined["error"], 0)
        generation, member = joined["generation"], joined["member_id"]
        # Ten rebalance timeouts and more: the generation it joined stays the group's (a heartbeat
        # of another generation would be ILLEGAL_GENERATION); it never syncs or rejoins.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            error = gw.heartbeat(conn, group, generation, member, "instance-s")
            self.assertIn(error, (0, gw.REBALANCE_IN_PROGRESS), f"generation {generation} was replaced (error {error})")
            time.sleep(0.1)
        self.assertEqual(gw.heartbeat(conn, group, generation, member, "instance-s"), gw.REBALANCE_IN_PROGRESS)
        # Rejoining ends the wait with the next generation.
        rejoined = gw.join_group(conn, group, member, instance="instance-s", session_timeout=6000, rebalance_timeout=100)
        self.assertEqual((rejoined["error"], rejoined["generation"]), (0, generation + 1))
        conn.close()

    def test_static_librdkafka_member_restart_does_not_rebalance(self):
        topic, group = "static-4", "static-group"
        create_topic(self.bootstrap, topic, 4)
        a = Member(self.bootstrap, group, topic, **{"group.instance.id": "a", "session.timeout.ms": 20000})
        b = Member(self.bootstrap, group, topic, **{"group.instance.id": "b", "session.timeout.ms": 20000})
        poll_until([a, b], lambda: a.assigned and b.assigned and len(a.assigned | b.assigned) == 4, 60,
                   "two static members to share 4 partitions")
        a_partitions, b_revocations = set(a.assigned), b.revocations
        a.close()  # a static member leaves no LeaveGroup behind
        restarted = Member(self.bootstrap, group, topic, **{"group.instance.id": "a", "session.timeout.ms": 20000})
        poll_until([restarted, b], lambda: restarted.assigned == a_partitions, 30,
                   "the restarted static member to get its partitions back")
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            b.poll()
            restarted.poll()
        self.assertEqual(b.revocations, b_revocations, "the other member saw a rebalance")
        restarted.close()
        b.close()

    def test_cooperative_sticky_moves_only_what_it_must(self):
        topic, group = "coop-6", "coop-group"
        create_topic(self.bootstrap, topic, 6)
        cooperative = {"partition.assignment.strategy": "cooperative-sticky"}
        first = Member(self.bootstrap, group, topic, **cooperative)
        poll_until([first], lambda: first.assigned == set(range(6)), 60, "the first member to own all 6")
        second = Member(self.bootstrap, group, topic, **cooperative)
        poll_until([first, second], lambda: len(first.assigned) == 3 and len(second.assigned) == 3, 60,
                   "the partitions to spread over two cooperative members")
        self.assertEqual(first.assigned | second.assigned, set(range(6)))
        # Incremental: the first member gave up exactly the partitions that moved, never all of them.
        moved = set().union(*first.revoked)
        self.assertEqual(moved, second.assigned)
        self.assertTrue(all(len(r) < 6 for r in first.revoked), first.revoked)
        second.close()
        first.close()

    @one_broker_only
    def test_error_paths(self):
        conn = gw.connect(self.port)
        self.assertEqual(gw.join_group(conn, "", "")["error"], gw.INVALID_GROUP_ID)
        self.assertEqual(gw.join_group(conn, "errors", "", session_timeout=10)["error"], gw.INVALID_SESSION_TIMEOUT)
        first = gw.join_group(conn, "errors", "", version=5)
        self.assertEqual(first["error"], gw.MEMBER_ID_REQUIRED)
        joined = gw.join_group(conn, "errors", first["member_id"], version=5)
        self.assertEqual(joined["error"], 0)
        generation, member = joined["generation"], joined["member_id"]
        self.assertEqual(gw.heartbeat(conn, "errors", generation, "stranger"), gw.UNKNOWN_MEMBER_ID)
        self.assertEqual(gw.heartbeat(conn, "errors", generation + 5, member), gw.ILLEGAL_GENERATION)
        self.assertEqual(gw.sync_group(conn, "errors", generation + 5, member, None, {})[0], gw.ILLEGAL_GENERATION)
        self.assertEqual(gw.sync_group(conn, "errors", generation, member, None, {member: b"x"}), (0, b"x"))
        self.assertEqual(gw.heartbeat(conn, "errors", generation, member), 0)
        self.assertEqual(gw.offset_commit(conn, "errors", generation + 1, member, "no-such-topic", {0: 5}),
                         {0: gw.ILLEGAL_GENERATION})
        self.assertEqual(gw.offset_commit(conn, "errors", generation, member, "no-such-topic", {0: 5}),
                         {0: gw.UNKNOWN_TOPIC_OR_PARTITION})
        self.assertEqual(gw.offset_commit(conn, "errors", -1, "", "no-such-topic", {0: 5}),
                         {0: gw.UNKNOWN_MEMBER_ID}, "a group-less commit into a live group")
        self.assertEqual(gw.heartbeat(conn, "never-created", 1, "m"), gw.UNKNOWN_MEMBER_ID)
        self.assertEqual(gw.leave_group(conn, "errors", member), 0)
        self.assertEqual(gw.heartbeat(conn, "errors", generation, member), gw.UNKNOWN_MEMBER_ID)
        conn.close()

    @one_broker_only
    def test_admin_operations(self):
        topic, group = "admin-3", "admin-group"
        create_topic(self.bootstrap, topic, 3)
        produce(self.bootstrap, topic, 30, 3)
        member = Member(self.bootstrap, group, topic)
        poll_until([member], lambda: len(member.seen) == 30, 60, "the admin group's member to read 30")
        member.consumer.commit(asynchronous=False)

        groups = AdminClient({"bootstrap.servers": self.bootstrap}).list_groups(group, timeout=10)
        self.assertEqual(len(groups), 1)
        self.assertEqual(groups[0].state, "Stable")
        self.assertEqual(groups[0].protocol_type, "consumer")
        self.assertEqual(len(groups[0].members), 1)

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        self.assertIn((group, "consumer"), admin.list_consumer_groups())
        described = admin.describe_consumer_groups([group])[0]
        self.assertEqual(described.state, "Stable")
        self.assertEqual(len(described.members), 1)
        offsets = admin.list_consumer_group_offsets(group)
        self.assertEqual({tp.partition: om.offset for tp, om in offsets.items()}, {0: 10, 1: 10, 2: 10})

        # Non-empty groups cannot be deleted; offsets of subscribed topics cannot be removed.
        self.assertEqual(gw.delete_groups(self.port, [group]), {group: gw.NON_EMPTY_GROUP})
        self.assertEqual(gw.offset_delete(self.port, group, topic, [0]), (0, {0: gw.GROUP_SUBSCRIBED_TO_TOPIC}))
        member.close()

        # Alter offsets with a group-less commit (confluent-kafka 1.7 has no alter_consumer_group_offsets).
        alterer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group})
        alterer.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
        alterer.close()
        offsets = admin.list_consumer_group_offsets(group)
        self.assertEqual(offsets[KTopicPartition(topic, 0)], OffsetAndMetadata(3, ""))
        self.assertEqual(gw.offset_delete(self.port, group, topic, [1]), (0, {1: 0}))
        offsets = admin.list_consumer_group_offsets(group)
        self.assertNotIn(KTopicPartition(topic, 1), offsets)

        self.assertEqual(admin.describe_consumer_groups([group])[0].state, "Empty")
        self.assertEqual(admin.delete_consumer_groups([group]), [(group, NoError)])
        self.assertNotIn((group, "consumer"), admin.list_consumer_groups())
        self.assertEqual(gw.delete_groups(self.port, [group]), {group: gw.GROUP_ID_NOT_FOUND})
        admin.close()

    @one_broker_only
    def test_list_groups_state_filter_and_batched_find_coordinator(self):
        create_topic(self.bootstrap, "filter-1", 1)
        conn = gw.connect(self.port)
        self.assertEqual(gw.offset_commit(conn, "filter-empty", -1, "", "filter-1", {0: 1}), {0: 0})
        listed = gw.list_groups_v4(conn, ["Empty"])
        self.assertIn("filter-empty", listed)
        self.assertTrue(all(state == "Empty" for state in listed.values()))
        self.assertNotIn("filter-empty", gw.list_groups_v4(conn, ["Stable"]))
        found = gw.find_coordinators_v4(conn, ["a", "b", ""], key_type=0)
        self.assertEqual(found["a"][0], 0)
        self.assertEqual(found["a"][1], 1)
        self.assertEqual(found[""][0], gw.INVALID_GROUP_ID)
        # A transactional id: the first ask creates __transaction_state, then its leader is named.
        txn = wait_until(lambda: (lambda c: c if c[0] == 0 else None)(
            gw.find_coordinators_v4(conn, ["txn"], key_type=1)["txn"]), 30, "a transaction coordinator")
        self.assertGreaterEqual(txn[1], 1)
        conn.close()

    def test_kafkajs_group_consumes_everything(self):
        done = subprocess.run(["node", os.path.join(JS_DIR, "groups.js"), self.bootstrap, "kafkajs-groups", "3000"],
                              env={**os.environ, "SLUICE_TEST_REPLICATION": str(REPLICATION)}, capture_output=True, timeout=180, cwd=JS_DIR)
        self.assertEqual(done.returncode, 0, done.stdout.decode() + done.stderr.decode())


@one_broker_only
class GroupDurabilityTest(unittest.TestCase):
    def test_two_brokers_split_the_coordinators(self):
        with Cluster(brokers=2, broker_overrides=OVERRIDES) as cluster:
            create_topic(cluster.bootstrap, "two-brokers", 2)
            conn = gw.connect(cluster.broker_ports[0])
            groups = [f"split-{i}" for i in range(12)]
            coordinators = {}
            for group in groups:
                def found(group=group):
                    error, node = gw.find_coordinator(conn, group)
                    return node if error == 0 else None
                coordinators[group] = wait_until(found, 30, f"a coordinator for {group}")
            conn.close()
            self.assertEqual(set(coordinators.values()), {1, 2}, coordinators)
            # Clients follow FindCoordinator to the right broker; both brokers keep offsets.
            admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
            for node in (1, 2):
                group = next(g for g, n in coordinators.items() if n == node)
                consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group})
                consumer.commit(offsets=[TopicPartition("two-brokers", 1, 42)], asynchronous=False)
                consumer.close()
                offsets = admin.list_consumer_group_offsets(group)
                self.assertEqual(offsets[KTopicPartition("two-brokers", 1)].offset, 42, f"group on broker {node}")
            admin.close()

    def test_kill9_during_commits_keeps_every_acknowledged_commit(self):
        with Cluster(broker_overrides=OVERRIDES) as cluster:
            port = cluster.broker_ports[0]
            create_topic(cluster.bootstrap, "durable-10", 10)
            acked = {}
            in_flight = {}
            stop = threading.Event()
            errors = []

            def committer(group):
                try:
                    conn = gw.connect(port)
                    wait_until(lambda: gw.coordinator_ready(conn, group), 30, f"the coordinator of {group}")
                    value = 0
                    while not stop.is_set():
                        value += 1
                        in_flight[group] = value
                        result = gw.offset_commit(conn, group, -1, "", "durable-10", {p: value for p in range(10)})
                        if set(result.values()) != {0}:
                            errors.append(result)
                            return
                        acked[group] = value
                except (OSError, gw.ConnectionClosed):
                    return  # the broker died under us

            threads = [threading.Thread(target=committer, args=(f"durable-{i}",)) for i in range(4)]
            for t in threads:
                t.start()
            wait_until(lambda: all(acked.get(f"durable-{i}", 0) >= 50 for i in range(4)) or errors, 60,
                       "commits to be acknowledged")
            cluster.brokers[0].kill9()
            stop.set()
            for t in threads:
                t.join(30)
            self.assertEqual(errors, [])
            cluster.start_broker(0)
            conn = gw.connect(port)
            for i in range(4):
                group = f"durable-{i}"
                committed = wait_until(lambda: gw.offset_fetch_retrying(conn, group, "durable-10", range(10)), 60,
                                       "the coordinator to reload")
                for partition, offset in committed.items():
                    # The last acknowledged commit survives; the one in flight at the kill may too.
                    self.assertIn(offset, {acked[group], in_flight[group]}, f"{group} partition {partition}")
                self.assertEqual(len(set(committed.values())), 1, f"{group}: one commit request is atomic")
            conn.close()
            # The group re-forms on the restarted broker and resumes from the commits.
            member = Member(cluster.bootstrap, "durable-0", "durable-10")
            poll_until([member], lambda: len(member.assigned) == 10, 60, "the group to re-form after restart")
            positions = member.consumer.committed([TopicPartition("durable-10", p) for p in range(10)], timeout=30)
            self.assertTrue(all(tp.offset in {acked["durable-0"], in_flight["durable-0"]} for tp in positions))
            member.close()


if __name__ == "__main__":
    unittest.main()
