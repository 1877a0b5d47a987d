"""The admin HTTP listener of a broker and a controller: /healthz, /readyz and /metrics with
the traffic real clients caused."""
import json
import re
import unittest
import urllib.error
import urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster, free_port, wait_until


def get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def metric(text, name, labels=""):
    """The value of one sample, e.g. metric(text, "x_total", 'topic="t"'); None when absent."""
    pattern = r"(?m)^" + re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)$"
    match = re.search(pattern, text)
    return float(match.group(1)) if match else None


class AdminHttpTest(unittest.TestCase):
    def test_health_readiness_and_metrics(self):
        broker_port, controller_port = free_port(), free_port()
        cluster = Cluster(brokers=1, controllers=1,
                          broker_overrides={"admin.listeners": f"http://127.0.0.1:{broker_port}",
                                            "log.flush.interval.messages": "10"},
                          controller_overrides={"admin.listeners": f"http://127.0.0.1:{controller_port}"})
        with cluster:
            for port in (broker_port, controller_port):
                self.assertEqual(get(port, "/healthz"), (200, "ok\n"))
                wait_until(lambda: get(port, "/readyz")[0] == 200, 30, f"/readyz on {port}")
            self.assertEqual(get(broker_port, "/nothing")[0], 404)

            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            admin.create_topics([NewTopic("metered", 3, 1)])["metered"].result(30)
            producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 5})
            for i in range(100):
                producer.produce("metered", value=b"x" * 100, partition=i % 3)
            self.assertEqual(producer.flush(30), 0)
            consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "metered",
                                 "enable.auto.commit": False})
            consumer.assign([TopicPartition("metered", p, 0) for p in range(3)])
            received = []
            wait_until(lambda: received.extend(m for m in consumer.consume(100, 0.5) if not m.error())
                       or len(received) >= 100, 30, "100 records consumed")
            # A consumer at the end of the log keeps a fetch parked (fetch.wait.max.ms); the fetch
            # purgatory counts it while it waits and is empty again once the consumer leaves.
            purgatory = 'delayedOperation="Fetch"'
            wait_until(lambda: (metric(get(broker_port, "/metrics")[1], "kafka_server_delayedoperationpurgatory_purgatorysize",
                                       purgatory) or 0) >= 1, 30, "a parked fetch in the purgatory")
            # fetch.wait.max.ms (500) later a parked fetch is answered and written: its total time counts.
            wait_until(lambda: (metric(get(broker_port, "/metrics")[1], "kafka_network_requestmetrics_totaltime_seconds_sum",
                                       'request="Fetch"') or 0) >= 0.4, 30, "a parked fetch answered and written")
            consumer.close()
            wait_until(lambda: metric(get(broker_port, "/metrics")[1], "kafka_server_delayedoperationpurgatory_purgatorysize",
                                      purgatory) == 0, 30, "an empty fetch purgatory after the consumer left")

            status, text = get(broker_port, "/metrics")
            self.assertEqual(metric(text, "kafka_server_delayedoperationpurgatory_purgatorysize",
                                    'delayedOperation="Produce"'), 0)
            # Request stages: total = local + remote + send. Parked fetches waited, so their remote
            # time is most of their total; APIs that never park have no remote stage.
            def fetch_stage(stage, part):
                return metric(text, f"kafka_network_requestmetrics_{stage}_seconds_{part}", 'request="Fetch"')
            for stage in ("totaltime", "localtime", "remotetime", "responsesendtime"):
                self.assertGreaterEqual(fetch_stage(stage, "count"), 1, stage)
            self.assertGreater(fetch_stage("remotetime", "sum"), 0.4)
            self.assertGreater(fetch_stage("totaltime", "sum"), 0.4)
            self.assertGreaterEqual(
                metric(text, "kafka_network_requestmetrics_localtime_seconds_count", 'request="Produce"'), 1)
            self.assertIsNone(
                metric(text, "kafka_network_requestmetrics_remotetime_seconds_count", 'request="ApiVersions"'))
            self.assertEqual(status, 200)
            self.assertEqual(metric(text, "kafka_server_brokertopicmetrics_messagesin_total", 'topic="metered"'), 100)
            self.assertGreater(metric(text, "kafka_server_brokertopicmetrics_bytesin_total", 'topic="metered"'), 100 * 100)
            self.assertGreater(metric(text, "kafka_server_brokertopicmetrics_bytesout_total", 'topic="metered"'), 100 * 100)
            self.assertGreaterEqual(metric(text, "kafka_network_requestmetrics_requests_total", 'request="Produce"'), 1)
            self.assertGreaterEqual(
                metric(text, "kafka_network_requestmetrics_totaltime_seconds_count", 'request="Fetch"'), 1)
            self.assertGreaterEqual(metric(text, "kafka_server_replicamanager_partitioncount"), 3)
            self.assertGreaterEqual(metric(text, "kafka_server_replicamanager_leadercount"), 3)
            self.assertEqual(metric(text, "kafka_server_replicamanager_underreplicatedpartitions"), 0)
            self.assertEqual(metric(text, "kafka_server_replicamanager_offlinereplicacount"), 0)
            self.assertIn("# TYPE kafka_network_requestmetrics_totaltime_seconds histogram\n", text)
            self.assertEqual(metric(text, "kafka_server_replicamanager_underminisrpartitioncount"), 0)
            sizes = [metric(text, "kafka_log_log_size", f'topic="metered",partition="{p}"') for p in range(3)]
            self.assertGreater(sum(sizes), 100 * 100, sizes)
            # log.flush.interval.messages=10: the maintenance thread flushed, and timed it.
            wait_until(lambda: (metric(get(broker_port, "/metrics")[1], "kafka_log_logflushstats_logflush_seconds_count")
                                or 0) >= 1, 30, "a timed flush")

            status, body = get(broker_port, "/v1/cluster")
            self.assertEqual(status, 200)
            summary = json.loads(body)
            self.assertEqual([b["id"] for b in summary["brokers"]], [1])
            self.assertFalse(summary["brokers"][0]["fenced"])
            self.assertGreaterEqual(summary["topics"], 1)
            self.assertGreaterEqual(summary["partitions"], 3)
            self.assertEqual(summary["offline_partitions"], [])
            self.assertEqual(summary["under_replicated_partitions"], [])

            status, text = get(controller_port, "/metrics")
            self.assertEqual(status, 200)
            self.assertEqual(metric(text, "kafka_controller_kafkacontroller_activecontrollercount"), 1)
            self.assertEqual(metric(text, "kafka_controller_kafkacontroller_brokercount"), 1)
            self.assertEqual(metric(text, "kafka_controller_kafkacontroller_fencedbrokercount"), 0)
            self.assertGreaterEqual(metric(text, "kafka_controller_kafkacontroller_globaltopiccount"), 1)
            self.assertEqual(metric(text, "kafka_controller_kafkacontroller_offlinepartitionscount"), 0)
            self.assertGreaterEqual(metric(text, "sluice_controller_raft_term"), 1)
            self.assertGreaterEqual(metric(text, "sluice_controller_commit_latency_seconds_count"), 1)
            wait_until(lambda: metric(get(controller_port, "/metrics")[1], "sluice_controller_broker_metadata_lag",
                                      'broker="1"') == 0, 30, "broker 1 caught up with the metadata")

    def test_isr_changes_and_readiness_across_a_follower_restart(self):
        ports = [free_port(), free_port()]
        cluster = Cluster(brokers=2, controllers=1, broker_overrides={"replica.lag.time.max.ms": "2000"})
        for broker, port in zip(cluster.brokers, ports):
            broker.argv += ["--override", f"admin.listeners=http://127.0.0.1:{port}"]
        with cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            # Broker 1 leads, broker 2 follows.
            admin.create_topics([NewTopic("pair", 1, replica_assignment=[[1, 2]])])["pair"].result(30)
            producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all"})
            producer.produce("pair", b"before")
            self.assertEqual(producer.flush(30), 0)

            def leader_metric(name):
                return metric(get(ports[0], "/metrics")[1], name) or 0
            wait_until(lambda: leader_metric("kafka_server_replicamanager_underreplicatedpartitions") == 0, 30,
                       "the pair fully in sync")
            shrinks, expands = (leader_metric("kafka_server_replicamanager_isrshrinks_total"),
                                leader_metric("kafka_server_replicamanager_isrexpands_total"))
            cluster.brokers[1].stop()
            wait_until(lambda: leader_metric("kafka_server_replicamanager_isrshrinks_total") > shrinks, 30,
                       "an ISR shrink counted on the leader")
            self.assertGreaterEqual(leader_metric("kafka_server_replicamanager_underreplicatedpartitions"), 1)
            self.assertEqual(json.loads(get(ports[0], "/v1/cluster")[1])["under_replicated_partitions"], ["pair-0"])
            producer.produce("pair", b"while the follower is down")
            self.assertEqual(producer.flush(30), 0)
            cluster.start_broker(1)
            # Ready only once it caught up and is back in the ISR.
            wait_until(lambda: get(ports[1], "/readyz")[0] == 200, 30, "broker 2 ready again")
            self.assertGreater(leader_metric("kafka_server_replicamanager_isrexpands_total"), expands)
            self.assertEqual(leader_metric("kafka_server_replicamanager_underreplicatedpartitions"), 0)


if __name__ == "__main__":
    unittest.main()
