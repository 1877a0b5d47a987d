"""SASL/PLAIN on a SASL_PLAINTEXT listener, with real clients: librdkafka (confluent-kafka),
kafkajs, kcat and kafka-python (SaslHandshake v0) log in and work; a wrong password gets Kafka's SASL_AUTHENTICATION_FAILED and a
closed connection; nothing but ApiVersions is served before a login; three brokers replicate
over the same listener (the followers log in too); the audit log names the users."""
import json
import os
import socket
import struct
import subprocess
import unittest

import kafka.errors
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from kafka import KafkaProducer
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire
from harness import Cluster, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
JS_ROUNDTRIP = os.path.join(HERE, "js", "roundtrip.js")
JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" '
        'password="broker-secret" user_broker="broker-secret" user_alice="alice-secret";')


def sasl_cluster(brokers=1, audit_file=None):
    overrides = {"sasl.jaas.config": JAAS, "default.replication.factor": str(brokers),
                 "offsets.topic.replication.factor": str(brokers)}
    if audit_file:
        overrides["audit.log.file"] = audit_file
    cluster = Cluster(brokers=brokers, controllers=1, broker_overrides=overrides)
    for broker, port in zip(cluster.brokers, cluster.broker_ports):
        broker.argv += ["--override", f"listeners=SASL_PLAINTEXT://127.0.0.1:{port}"]
    return cluster


def client_config(cluster, user="alice", password="alice-secret"):
    return {"bootstrap.servers": cluster.bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": password}


class SaslPlainTest(unittest.TestCase):
    def test_clients_log_in_and_the_audit_log_names_them(self):
        cluster = sasl_cluster()
        audit_file = os.path.join(cluster.dir, "audit.log")
        cluster.brokers[0].argv += ["--override", f"audit.log.file={audit_file}"]
        with cluster:
            admin = AdminClient(client_config(cluster))
            admin.create_topics([NewTopic("secured", 1, 1)])["secured"].result(30)
            producer = Producer({**client_config(cluster), "acks": "all"})
            for i in range(20):
                producer.produce("secured", value=f"r{i}".encode())
            self.assertEqual(producer.flush(30), 0)
            consumer = Consumer({**client_config(cluster), "group.id": "secured-readers",
                                 "auto.offset.reset": "earliest"})
            consumer.subscribe(["secured"])
            seen = []
            wait_until(lambda: seen.extend(m.value() for m in consumer.consume(20, 0.5) if not m.error())
                       or len(seen) >= 20, 60, "20 records read over SASL")
            consumer.close()
            self.assertEqual(sorted(seen), sorted(f"r{i}".encode() for i in range(20)))

            listed = subprocess.run(["kcat", "-b", cluster.bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                                     "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=alice",
                                     "-X", "sasl.password=alice-secret", "-C", "-t", "secured", "-e", "-q"],
                                    capture_output=True, text=True, timeout=60)
            self.assertEqual(listed.returncode, 0, listed.stderr)
            self.assertEqual(len(listed.stdout.split()), 20)

            js = subprocess.run(["node", JS_ROUNDTRIP, cluster.bootstrap, "secured-js", "500"], capture_output=True,
                                text=True, timeout=120,
                                env={**os.environ, "SLUICE_SASL_USER": "alice", "SLUICE_SASL_PASSWORD": "alice-secret"})
            self.assertEqual(js.returncode, 0, js.stdout + js.stderr)

            # kafka-python 2.0 uses SaslHandshake v0: its token follows as a bare frame.
            legacy = KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_PLAINTEXT",
                                   sasl_mechanism="PLAIN", sasl_plain_username="alice",
                                   sasl_plain_password="alice-secret")
            legacy.send("secured", b"from kafka-python").get(timeout=30)
            legacy.close()
            with self.assertRaises(kafka.errors.KafkaError):
                KafkaProducer(bootstrap_servers=cluster.bootstrap, security_protocol="SASL_PLAINTEXT",
                              sasl_mechanism="PLAIN", sasl_plain_username="alice", sasl_plain_password="wrong",
                              api_version=(2, 0), max_block_ms=5000).send("secured", b"never").get(timeout=10)

            def audited():
                with open(audit_file) as f:
                    return [json.loads(line) for line in f]
            wait_until(lambda: os.path.exists(audit_file) and any(r["api"] == "CreateTopics" for r in audited()),
                       30, "the CreateTopics audit line")
            created = next(r for r in audited() if r["api"] == "CreateTopics")
            self.assertEqual((created["principal"], created["listener"], created["resource"]),
                             ("User:alice", "SASL_PLAINTEXT", "secured"))
            logins = [r for r in audited() if r["api"] == "SaslAuthenticate"]
            self.assertTrue(logins and all(r["resource"] == "alice" for r in logins))
            results = {r["result"] for r in logins}
            self.assertEqual(results, {"NONE", "SASL_AUTHENTICATION_FAILED"})  # kafka-python's wrong password

    def test_a_wrong_password_is_refused_as_kafka_refuses_it(self):
        with sasl_cluster() as cluster:
            errors = []
            producer = Producer({**client_config(cluster, password="wrong"),
                                 "error_cb": lambda error: errors.append(error)})
            producer.produce("anything", b"x")
            wait_until(lambda: producer.poll(0.2) is not None and errors, 30, "an authentication error")
            self.assertEqual(errors[0].code(), KafkaError._AUTHENTICATION)
            self.assertIn("Authentication failed: Invalid username or password", errors[0].str())

            # The same over raw frames: SaslHandshake v1, then SaslAuthenticate v1 with a bad
            # password: SASL_AUTHENTICATION_FAILED (58), then the broker closes the connection.
            port = cluster.broker_ports[0]
            conn = kafka_wire.Connection(port)
            conn.send(kafka_wire.request(17, 1, 1, kafka_wire.string("PLAIN")))
            handshake = conn.receive()
            self.assertEqual(struct.unpack(">ih", handshake[:6]), (1, 0))
            token = b"\0alice\0nope"
            conn.send(kafka_wire.request(36, 1, 2, struct.pack(">i", len(token)) + token))
            answer = conn.receive()
            self.assertEqual(struct.unpack(">ih", answer[:6]), (2, 58))
            self.assertTrue(conn.closed_by_peer())

    def test_only_api_versions_is_served_before_a_login(self):
        with sasl_cluster() as cluster:
            port = cluster.broker_ports[0]
            conn = kafka_wire.Connection(port)
            conn.send(kafka_wire.request(18, 0, 1, b""))
            self.assertEqual(struct.unpack(">ih", conn.receive()[:6]), (1, 0))
            conn.send(kafka_wire.request(3, 1, 2, struct.pack(">i", -1)))  # Metadata, all topics
            self.assertTrue(conn.closed_by_peer())
            # A mechanism that is not enabled: UNSUPPORTED_SASL_MECHANISM (33), then closed.
            conn = kafka_wire.Connection(port)
            conn.send(kafka_wire.request(17, 1, 1, kafka_wire.string("SCRAM-SHA-256")))
            self.assertEqual(struct.unpack(">ih", conn.receive()[:6]), (1, 33))
            self.assertTrue(conn.closed_by_peer())

    def test_three_brokers_replicate_over_the_sasl_listener(self):
        with sasl_cluster(brokers=3) as cluster:
            admin = AdminClient(client_config(cluster))
            admin.create_topics([NewTopic("replicated", 3, 3, config={"min.insync.replicas": "3"})])["replicated"].result(30)
            # acks=all with min.insync.replicas 3: every follower must have fetched, logged in.
            admin_config = client_config(cluster)
            producer = Producer({**admin_config, "acks": "all"})
            for i in range(30):
                producer.produce("replicated", value=b"v", partition=i % 3)
            self.assertEqual(producer.flush(30), 0)

            def all_in_sync():
                topic = admin.list_topics("replicated", timeout=10).topics["replicated"]
                return all(len(p.isrs) == 3 for p in topic.partitions.values())
            wait_until(all_in_sync, 30, "every follower in sync over SASL_PLAINTEXT")
            consumer = Consumer({**admin_config, "group.id": "r", "enable.auto.commit": False})
            high = [consumer.get_watermark_offsets(TopicPartition("replicated", p), timeout=10)[1] for p in range(3)]
            consumer.close()
            self.assertEqual(sum(high), 30)


if __name__ == "__main__":
    unittest.main()
