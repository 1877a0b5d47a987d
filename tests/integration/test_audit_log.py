"""The admin audit trail (audit.log.file): admin operations from real clients become JSON lines
naming principal, client, listener, API, resource and result; other requests leave no line."""
import json
import os
import subprocess
import unittest

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from kafka.admin import KafkaAdminClient

from harness import Cluster, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
JS_REASSIGN = os.path.join(HERE, "js", "reassign.js")


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class AuditLogTest(unittest.TestCase):
    def test_admin_operations_leave_one_line_per_resource(self):
        cluster = Cluster(brokers=1, controllers=1)
        audit_file = os.path.join(cluster.dir, "audit", "admin.log")
        cluster.brokers[0].argv += ["--override", f"audit.log.file={audit_file}"]
        with cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})

            def result(futures):
                for future in futures.values():
                    try:
                        future.result(30)
                    except Exception:  # the audit line records the refusal; the test checks it
                        pass

            result(admin.create_topics([NewTopic("audited", 2, 1), NewTopic("also", 1, 1)]))
            result(admin.create_topics([NewTopic("audited", 2, 1)]))  # refused: exists
            result(admin.create_partitions([NewPartitions("audited", 4)]))
            result(admin.alter_configs([ConfigResource("topic", "audited", set_config={"retention.ms": "3600000"})]))
            moved = subprocess.run(["node", JS_REASSIGN, cluster.bootstrap, "audited", "plan", '{"0":[1]}', "30000"],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(moved.returncode, 0, moved.stdout + moved.stderr)
            producer = Producer({"bootstrap.servers": cluster.bootstrap})
            producer.produce("audited", b"not an admin operation")
            self.assertEqual(producer.flush(30), 0)
            result(admin.delete_topics(["also"]))
            groups = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)  # kafka-python has DeleteGroups

            def deleted():
                # COORDINATOR_LOAD_IN_PROGRESS (14) while the new __consumer_offsets loads: retriable.
                codes = [error.errno for _, error in groups.delete_consumer_groups(["nobody"])]
                return codes if codes != [14] else None
            self.assertEqual(wait_until(deleted, 30, "DeleteGroups past the coordinator's load"), [69])
            groups.close()

            expected = [("CreateTopics", "TOPIC", "audited", "NONE"), ("CreateTopics", "TOPIC", "also", "NONE"),
                        ("CreateTopics", "TOPIC", "audited", "TOPIC_ALREADY_EXISTS"),
                        ("CreatePartitions", "TOPIC", "audited", "NONE"),
                        ("AlterConfigs", "TOPIC", "audited", "NONE"),
                        ("AlterPartitionReassignments", "TOPIC_PARTITION", "audited-0", "NONE"),
                        ("DeleteTopics", "TOPIC", "also", "NONE"),
                        ("DeleteGroups", "GROUP", "nobody", "GROUP_ID_NOT_FOUND")]
            # Lines are synced off the I/O thread: wait for the last operation's.
            wait_until(lambda: len([r for r in lines(audit_file) if r["result"] != "COORDINATOR_LOAD_IN_PROGRESS"])
                       >= len(expected), 30, f"{len(expected)} audit lines")
            # Refusals a client retries (the coordinator still loading) are audited too; skip them.
            recorded = [r for r in lines(audit_file) if r["result"] != "COORDINATOR_LOAD_IN_PROGRESS"]
            self.assertEqual([(r["api"], r["resource_type"], r["resource"], r["result"]) for r in recorded], expected)
            for record in recorded:
                self.assertEqual(record["principal"], "User:ANONYMOUS")
                self.assertEqual(record["listener"], "PLAINTEXT")
                self.assertRegex(record["client"], r"^127\.0\.0\.1:\d+$")
                self.assertRegex(record["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_an_unwritable_audit_log_stops_the_broker_with_a_clear_error(self):
        cluster = Cluster(brokers=1, controllers=1)
        blocker = os.path.join(cluster.dir, "not-a-dir")
        with open(blocker, "w") as f:
            f.write("x")
        cluster.brokers[0].argv += ["--override", f"audit.log.file={blocker}/admin.log"]
        try:
            cluster.controller.start()
            broker = cluster.brokers[0]
            broker.start()
            wait_until(lambda: not broker.alive(), 30, "the broker to refuse its audit log")
            self.assertEqual(broker.proc.returncode, 1)
            self.assertIn("audit log: cannot open", broker.log())
        finally:
            cluster.destroy()


    def test_lines_are_copied_to_a_topic(self):
        """audit.log.topic: a broker produces its lines to the topic, which it creates (RF 3 here);
        a consumer reads them as JSON, keyed by the broker id."""
        cluster = Cluster(brokers=3, controllers=1, broker_overrides={"audit.log.topic": "__sluice_audit",
                                                                      "default.replication.factor": "3"})
        for i, broker in enumerate(cluster.brokers):
            broker.argv += ["--override", f"audit.log.file={cluster.dir}/audit-{i}.log"]
        with cluster:
            for port in cluster.broker_ports:
                admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"})
                name = f"audited-on-{port}"
                admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
            consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "audit-readers",
                                 "auto.offset.reset": "earliest"})
            consumer.subscribe(["__sluice_audit"])
            seen = {}

            def every_creation_read():
                for message in consumer.consume(50, 0.5):
                    if message.error():
                        continue
                    line = json.loads(message.value())
                    if line["api"] == "CreateTopics":
                        seen[line["resource"]] = message.key().decode()
                return len(seen) >= 3
            wait_until(every_creation_read, 60, "the three brokers' CreateTopics lines in __sluice_audit")
            consumer.close()
            # Each line is keyed by the broker that wrote it into its own file.
            written_by = {line["resource"]: str(i + 1) for i in range(3)
                          for line in lines(f"{cluster.dir}/audit-{i}.log") if line["api"] == "CreateTopics"}
            self.assertEqual(seen, written_by)

if __name__ == "__main__":
    unittest.main()
