"""One broker hosting 1,000 idle partitions stays well under 1 GiB of resident memory."""
import unittest

from confluent_kafka.admin import AdminClient, NewTopic

from harness import Cluster

LIMIT_KB = 1024 * 1024


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


class FootprintTest(unittest.TestCase):
    def test_thousand_idle_partitions(self):
        with Cluster() as cluster:
            admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
            futures = admin.create_topics([NewTopic(f"idle-{i}", 100, 1) for i in range(10)],
                                          operation_timeout=60, request_timeout=60)
            for future in futures.values():
                future.result(120)
            metadata = admin.list_topics(timeout=30)
            self.assertEqual(sum(len(metadata.topics[f"idle-{i}"].partitions) for i in range(10)), 1000)
            rss = rss_kb(cluster.brokers[0].proc.pid)
            print(f"FOOTPRINT broker RSS with 1000 idle partitions: {rss} kB")
            self.assertLess(rss, LIMIT_KB)


if __name__ == "__main__":
    unittest.main()
