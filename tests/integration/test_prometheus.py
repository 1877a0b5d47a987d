"""A real Prometheus server (Debian's) scrapes a three-broker cluster's admin listeners, and
PromQL queries for throughput and consumer lag return what the clients did."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster, free_port, wait_until

PROMETHEUS = shutil.which("prometheus")
RECORDS = 3000
COMMITTED = 100  # per partition; each of the 6 holds RECORDS / 6


class Prometheus:
    def __init__(self, targets):
        self.dir = tempfile.mkdtemp(prefix="sluice-prometheus-")
        self.port = free_port()
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: sluice\n    static_configs:\n"
                    f"      - targets: [{', '.join(repr(t) for t in targets)}]\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.proc = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={self.dir}/data",
                                      f"--web.listen-address=127.0.0.1:{self.port}"], stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def query(self, promql):
        """The instant vector of `promql` as a list of (labels, value)."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = json.load(response)
        except OSError:
            return []
        return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]

    def scalar(self, promql):
        result = self.query(promql)
        return result[0][1] if len(result) == 1 else None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipIf(PROMETHEUS is None, "Debian's prometheus is not installed (deploy/install-deps.sh installs it)")
class PrometheusTest(unittest.TestCase):
    def test_prometheus_scrapes_throughput_and_lag(self):
        cluster = Cluster(brokers=3, controllers=1)
        admin_ports = []
        for broker in cluster.brokers:
            admin_ports.append(free_port())
            broker.argv += ["--override", f"admin.listeners=http://127.0.0.1:{admin_ports[-1]}"]
        controller_port = free_port()
        cluster.controller.argv += ["--override", f"admin.listeners=http://127.0.0.1:{controller_port}"]
        with cluster:
            prometheus = Prometheus([f"127.0.0.1:{p}" for p in admin_ports + [controller_port]])
            try:
                self.scrape_and_query(cluster, prometheus)
            finally:
                prometheus.stop()

    def scrape_and_query(self, cluster, prometheus):
        wait_until(lambda: prometheus.scalar('sum(up{job="sluice"})') == 4, 60, "Prometheus scraping all four targets")
        self.assertEqual(prometheus.scalar("sum(kafka_controller_kafkacontroller_activecontrollercount)"), 1)
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic("prom", 6, 3)])["prom"].result(30)

        # Steady production for a few seconds, so that a rate has something to measure.
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 5, "acks": "all"})
        rate_seen = []
        produced = threading.Event()

        def watch_rate():
            # Two readings a second until the production ends.
            while not produced.wait(0.5):
                value = prometheus.scalar('sum(rate(kafka_server_brokertopicmetrics_messagesin_total{topic="prom"}[3s]))')
                if value is not None and value > 0:
                    rate_seen.append(value)
        watcher = threading.Thread(target=watch_rate)
        watcher.start()
        per_second = 500
        for second in range(RECORDS // per_second):
            started = time.monotonic()
            for i in range(per_second):
                producer.produce("prom", value=b"v" * 100, partition=(second * per_second + i) % 6)
            producer.poll(0)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))  # the workload's own rate, not a wait
        produced.set()
        watcher.join()
        self.assertEqual(producer.flush(30), 0)
        self.assertTrue(rate_seen, "no produce rate in Prometheus while producing")
        # The last reading: its 3 s window lies wholly inside the run.
        steady = rate_seen[-1]
        print(f"PROMETHEUS produce rate while producing {per_second} records/s: {steady:.0f} records/s "
              f"(readings {', '.join(f'{r:.0f}' for r in rate_seen)})")
        self.assertGreater(steady, per_second * 0.5)
        self.assertLess(steady, per_second * 2)
        wait_until(lambda: prometheus.scalar('sum(kafka_server_brokertopicmetrics_messagesin_total{topic="prom"})') == RECORDS,
                   30, f"{RECORDS} records in on the leaders, as scraped")

        # A group that has processed the first COMMITTED records of every partition.
        consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "lagging",
                             "enable.auto.commit": False})
        consumer.commit(offsets=[TopicPartition("prom", p, COMMITTED) for p in range(6)], asynchronous=False)
        consumer.close()
        expected_lag = RECORDS - 6 * COMMITTED
        lag_query = 'sum(kafka_consumergroup_lag{group="lagging",topic="prom"})'
        wait_until(lambda: prometheus.scalar(lag_query) == expected_lag, 30,
                   f"group lag {expected_lag} in Prometheus (last: {prometheus.scalar(lag_query)})")
        print(f"PROMETHEUS {lag_query} = {prometheus.scalar(lag_query):.0f}")
        self.assertEqual(len(prometheus.query('kafka_consumergroup_lag{group="lagging",topic="prom"}')), 6)

        # Lag on partitions the group's coordinator does not host: one replica per broker, so at
        # least two of the three live elsewhere. Each leader exports its high watermark, the
        # coordinator the committed offsets, and PromQL joins them.
        admin.create_topics([NewTopic("solo", 3, replica_assignment=[[1], [2], [3]])])["solo"].result(30)
        for p in range(3):
            for i in range(30):
                producer.produce("solo", value=b"s", partition=p)
        self.assertEqual(producer.flush(30), 0)
        consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "far", "enable.auto.commit": False})
        consumer.commit(offsets=[TopicPartition("solo", p, 10) for p in range(3)], asynchronous=False)
        consumer.close()
        join = ('sum(max by (topic, partition) (kafka_topic_partition_current_offset{topic="solo"}) - on (topic, partition) '
                'group_right max by (group, topic, partition) (kafka_consumergroup_current_offset{group="far"}))')
        wait_until(lambda: prometheus.scalar(join) == 60, 30,
                   f"lag 60 of group far through the join (last: {prometheus.scalar(join)})")
        print(f"PROMETHEUS {join} = {prometheus.scalar(join):.0f}")
        self.assertLessEqual(len(prometheus.query('kafka_consumergroup_lag{group="far"}')), 1)


if __name__ == "__main__":
    unittest.main()
