"""deploy/k8s: the manifests validate offline, and the pods they describe form a working cluster.

Schema: both overlays, rendered by `kubectl kustomize`, are checked against the Kubernetes API
models of python3-kubernetes and for dangling references (k8s_manifests.py). No cluster can be
reached from these machines.

Contract: every pod of the prod overlay runs as a local process exactly as the manifest renders
it (k8s_pod.py): the container's command and args, its env with downward-API fields resolved
(pod name, namespace, pod IP, the pod-index and zone labels) and $(VAR) expanded, hostname =
pod name, its ConfigMap and persistent volume mounted at their mountPaths, the securityContext's
uid. Each pod has its own loopback IP, so all bind the manifest's ports; the pods' DNS names
and the bootstrap Service resolve through an /etc/hosts bind-mounted in this test's private
mount namespace (CTest starts it under `unshare --mount`). Clients use the bootstrap name only.
"""
import copy
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import unittest
import urllib.request

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

import harness
import k8s_manifests

HERE = os.path.dirname(os.path.abspath(__file__))
K8S_POD = os.path.join(HERE, "k8s_pod.py")
REASSIGN = os.path.join(HERE, "js", "reassign.js")
ZONES = ["zone-a", "zone-b", "zone-c"]
CLUSTER_DOMAIN = "svc.cluster.local"


def by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


class ManifestSchemaTest(unittest.TestCase):
    def test_both_overlays_validate_and_keep_their_shape(self):
        for overlay, size in (("dev", 1), ("prod", 3)):
            with self.subTest(overlay=overlay):
                objects = k8s_manifests.render(overlay)
                errors = [e for o in objects for e in k8s_manifests.schema_errors(o)]
                errors += k8s_manifests.reference_errors(objects)
                self.assertEqual(errors, [])
                sets = by_kind(objects, "StatefulSet")
                self.assertEqual(set(sets), {"sluice-controller", "sluice-broker"})
                for sts in sets.values():
                    spec = sts["spec"]
                    self.assertEqual(spec["replicas"], size)
                    self.assertEqual(spec["podManagementPolicy"], "Parallel")
                    container = spec["template"]["spec"]["containers"][0]
                    self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/readyz")
                    self.assertEqual(container["livenessProbe"]["httpGet"]["path"], "/healthz")
                    self.assertTrue(spec["template"]["spec"]["securityContext"]["runAsNonRoot"])
                    self.assertGreaterEqual(spec["template"]["spec"]["terminationGracePeriodSeconds"], 60)
                    self.assertIn("requests", container["resources"])
                    self.assertEqual(len(spec["volumeClaimTemplates"]), 1)
                pdbs = by_kind(objects, "PodDisruptionBudget")
                self.assertEqual({p["spec"]["maxUnavailable"] for p in pdbs.values()}, {1})
                self.assertEqual(len(pdbs), 2)
                self.assertIn("sluice-bootstrap", by_kind(objects, "Service"))

    def test_the_validator_refuses_what_the_api_server_would(self):
        objects = k8s_manifests.render("prod")
        broker = by_kind(objects, "StatefulSet")["sluice-broker"]
        mutations = {
            "unknown field": lambda s: s["spec"]["template"]["spec"]["containers"][0].update(imagePullPolicyy="x"),
            "wrong type": lambda s: s["spec"].update(replicas="3"),
            "missing required field": lambda s: s["spec"].pop("selector"),
            "probe on an unnamed port": lambda s: s["spec"]["template"]["spec"]["containers"][0]["readinessProbe"][
                "httpGet"].update(port="nope"),
        }
        for what, mutate in mutations.items():
            with self.subTest(what=what):
                bad = copy.deepcopy(broker)
                mutate(bad)
                others = [o for o in objects if o is not broker]
                errors = k8s_manifests.schema_errors(bad) or k8s_manifests.reference_errors(others + [bad])
                self.assertNotEqual(errors, [], what)


class Pod:
    """One pod of a StatefulSet, run as a local process by k8s_pod.py."""

    def __init__(self, test, sts, ordinal, ip):
        self.spec = k8s_manifests.pod_spec(sts, ordinal, ip, ZONES[ordinal % len(ZONES)], test.config_maps,
                                           test.image_env)
        self.ip = ip
        self.name = self.spec["name"]
        mounts = []
        for mount in self.spec["mounts"]:
            if "claim" in mount:
                source = os.path.join(test.dir, "claims", mount["claim"])
                os.makedirs(source, exist_ok=True)
                os.chown(source, self.spec["uid"], self.spec["fs_group"])
            else:
                source = os.path.join(test.dir, "configmaps", self.name)
                os.makedirs(source, exist_ok=True)
                for file_name, text in mount["files"].items():
                    with open(os.path.join(source, file_name), "w") as f:
                        f.write(text)
            test.mount_points.add(mount["path"])
            mounts.append({"source": source, "path": mount["path"]})
        self.claim_dir = next(m["source"] for m in mounts if "claims" in m["source"])
        launch = {"hostname": self.spec["hostname"], "mounts": mounts, "image_bin": test.image_bin,
                  "argv": self.spec["argv"], "env": dict(self.spec["env"], PATH="/usr/local/bin:/usr/bin:/bin",
                                                          HOSTNAME=self.name),
                  "uid": self.spec["uid"], "gid": self.spec["gid"]}
        spec_path = os.path.join(test.dir, f"{self.name}.json")
        with open(spec_path, "w") as f:
            json.dump(launch, f)
        argv = ["unshare", "--mount", "--uts", "--propagation", "private", "/usr/bin/python3", K8S_POD, spec_path]
        self.process = harness.Process(self.name, argv, os.path.join(test.dir, f"{self.name}.log"))

    def ready(self):
        """The readiness probe as the kubelet runs it: GET on the named port of the pod IP."""
        probe = self.spec["readiness"]["httpGet"]
        url = f"http://{self.ip}:{self.spec['ports'][probe['port']]}{probe['path']}"
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return answer.status == 200
        except OSError:
            return False

    def admin_json(self, path):
        with urllib.request.urlopen(f"http://{self.ip}:{self.spec['ports']['admin']}{path}", timeout=5) as answer:
            return json.load(answer)


class ManifestContractTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The hosts file below must not leak into the machine: CTest runs this under unshare.
        if os.readlink("/proc/self/ns/mnt") == os.readlink(f"/proc/{os.getppid()}/ns/mnt"):
            raise AssertionError("run this suite in a private mount namespace: unshare --mount --propagation private")
        cls.objects = k8s_manifests.render("prod")
        cls.config_maps = by_kind(cls.objects, "ConfigMap")
        cls.image_env = k8s_manifests.image_env()
        cls.sets = by_kind(cls.objects, "StatefulSet")
        cls.namespace = cls.sets["sluice-broker"]["metadata"]["namespace"]
        cls.dir = tempfile.mkdtemp(prefix="sluice-k8s-")
        os.chmod(cls.dir, 0o755)  # the pods run as the manifest's non-root uid
        cls.image_bin = os.path.join(cls.dir, "image-bin")
        os.makedirs(cls.image_bin)
        for binary in (harness.BROKER_BIN, harness.CONTROLLER_BIN):
            shutil.copy2(binary, cls.image_bin)
        cls.mount_points = set()
        cls.created_mount_points = []
        net = f"127.{random.randint(64, 250)}.{random.randint(1, 250)}"
        cls.ips = {f"sluice-controller-{j}": f"{net}.{20 + j}" for j in range(3)}
        cls.ips.update({f"sluice-broker-{i}": f"{net}.{10 + i}" for i in range(4)})
        hosts = ["127.0.0.1 localhost"]
        for pod, ip in cls.ips.items():
            service = pod.rsplit("-", 1)[0]
            hosts.append(f"{ip} {pod}.{service}.{cls.namespace}.{CLUSTER_DOMAIN}")
        # A ClusterIP Service forwards to some ready broker; broker 0 stands in for it.
        cls.bootstrap_host = f"sluice-bootstrap.{cls.namespace}.{CLUSTER_DOMAIN}"
        hosts.append(f"{cls.ips['sluice-broker-0']} {cls.bootstrap_host}")
        hosts_file = os.path.join(cls.dir, "hosts")
        with open(hosts_file, "w") as f:
            f.write("\n".join(hosts) + "\n")
        subprocess.run(["mount", "--bind", hosts_file, "/etc/hosts"], check=True)
        cls.pods = {}

    @classmethod
    def tearDownClass(cls):
        for pod in cls.pods.values():
            pod.process.kill9()
        subprocess.run(["umount", "/etc/hosts"], check=False)
        for path in reversed(cls.created_mount_points):
            try:
                os.rmdir(path)
            except OSError:
                pass
        shutil.rmtree(cls.dir, ignore_errors=True)

    def pod(self, statefulset, ordinal):
        name = f"{statefulset}-{ordinal}"
        if name not in self.pods:
            pod = Pod(self, self.sets[statefulset], ordinal, self.ips[name])
            for path in sorted(self.mount_points):
                if not os.path.isdir(path):
                    os.makedirs(path)
                    self.created_mount_points.append(path)
            self.pods[name] = pod
        return self.pods[name]

    def start(self, pods):
        for pod in pods:
            pod.process.start()
        for pod in pods:
            harness.wait_until(lambda: pod.ready() or not pod.process.alive(), 90, f"{pod.name} readiness")
            if not pod.process.alive():
                self.fail(f"{pod.name} exited:\n{pod.process.log()[-3000:]}")

    def bootstrap(self):
        return f"{self.bootstrap_host}:9092"

    def dump_logs(self):
        for pod in self.pods.values():
            if os.path.exists(pod.process.log_path):
                print(f"---- {pod.name} log (tail) ----\n{pod.process.log()[-3000:]}")

    def run(self, result=None):
        outcome = super().run(result)
        if result is not None and (result.failures or result.errors):
            self.dump_logs()
        return outcome

    def produce(self, topic, count, prefix):
        producer = Producer({"bootstrap.servers": self.bootstrap(), "enable.idempotence": True, "acks": "all"})
        failures = []
        for i in range(count):
            producer.produce(topic, key=str(i % 17), value=f"{prefix}-{i}",
                             on_delivery=lambda err, msg: failures.append(err) if err else None)
        self.assertEqual(producer.flush(30), 0, "records still unacknowledged after 30 s")
        self.assertEqual(failures, [])

    def consume_all(self, topic, expected, bootstrap=None):
        consumer = Consumer({"bootstrap.servers": bootstrap or self.bootstrap(), "group.id": f"check-{random.random()}",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.subscribe([topic])
        seen = []
        try:
            def done():
                message = consumer.poll(0.5)
                if message is not None and message.error() is None:
                    seen.append(message.value().decode())
                return len(seen) >= len(expected)
            harness.wait_until(done, 60, f"{len(expected)} records of {topic}", interval=0)
        finally:
            consumer.close()
        self.assertEqual(sorted(seen), sorted(expected))

    def test_pods_form_a_cluster_that_keeps_ids_scales_out_and_recovers_a_lost_broker(self):
        controllers = [self.pod("sluice-controller", j) for j in range(3)]
        brokers = [self.pod("sluice-broker", i) for i in range(3)]
        self.start(controllers + brokers)  # podManagementPolicy: Parallel

        admin = AdminClient({"bootstrap.servers": self.bootstrap()})
        metadata = admin.list_topics(timeout=10)
        advertised = {b.id: b.host for b in metadata.brokers.values()}
        self.assertEqual(advertised, {i: f"sluice-broker-{i}.sluice-broker.{self.namespace}.{CLUSTER_DOMAIN}"
                                      for i in range(3)})
        racks = {b["id"]: b["rack"] for b in brokers[0].admin_json("/v1/cluster")["brokers"]}
        self.assertEqual(racks, {i: ZONES[i] for i in range(3)})

        # Topics take the ConfigMap's defaults: three replicas.
        self.produce("orders", 300, "first")
        topic = admin.list_topics("orders", timeout=10).topics["orders"]
        self.assertEqual({len(p.replicas) for p in topic.partitions.values()}, {3})
        self.consume_all("orders", [f"first-{i}" for i in range(300)])

        # A pod that comes back keeps its id: the volume remembers it.
        brokers[1].process.stop(timeout=120)
        self.start([brokers[1]])
        with open(os.path.join(brokers[1].claim_dir, "kafka-logs", "meta.properties")) as f:
            self.assertIn("node.id=1\n", f.read())
        with open(os.path.join(controllers[2].claim_dir, "metadata", "meta.properties")) as f:
            self.assertIn("node.id=3002\n", f.read())
        # The processes ran as the securityContext's user: what they wrote is that user's.
        self.assertEqual(os.stat(os.path.join(brokers[1].claim_dir, "kafka-logs", "meta.properties")).st_uid,
                         brokers[1].spec["uid"])

        # Scale out: a fourth broker pod, then partitions reassigned onto it under load.
        futures = admin.create_topics([NewTopic("moving", num_partitions=6, replication_factor=3)])
        futures["moving"].result(30)
        self.start([self.pod("sluice-broker", 3)])
        harness.wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 4, 30, "four brokers in Metadata")

        acked, failures, stop = [], [], threading.Event()

        def keep_producing():
            producer = Producer({"bootstrap.servers": self.bootstrap(), "enable.idempotence": True, "acks": "all",
                                 "linger.ms": 5})

            def delivered(err, msg):
                (failures if err else acked).append(err or msg.value().decode())
            i = 0
            while not stop.is_set():
                producer.produce("moving", key=str(i % 31), value=f"moving-{i}-".ljust(200, "x"), on_delivery=delivered)
                producer.poll(0)
                i += 1
                if i % 200 == 0:
                    producer.flush(30)
            producer.flush(30)

        writer = threading.Thread(target=keep_producing)
        writer.start()
        try:
            harness.wait_until(lambda: len(acked) >= 20000, 60, "20,000 records acknowledged before the move")
            ids = [0, 1, 2, 3]
            plan = {str(p): [ids[(p + k) % 4] for k in range(3)] for p in range(6)}
            moved = subprocess.run(["node", REASSIGN, self.bootstrap(), "moving", "plan", json.dumps(plan), "90000"],
                                   capture_output=True, text=True, timeout=120)
            self.assertEqual(moved.returncode, 0, moved.stdout + moved.stderr)
            print(moved.stdout.strip())
            count_at_move = len(acked)
            harness.wait_until(lambda: len(acked) >= count_at_move + 500, 30, "500 records acknowledged after the move")
        finally:
            stop.set()
            writer.join(60)
        self.assertEqual(failures, [])
        hosted = [p for p, replicas in plan.items() if 3 in replicas]
        for p in hosted:
            self.assertTrue(os.path.isdir(os.path.join(self.pods["sluice-broker-3"].claim_dir, "kafka-logs", f"moving-{p}")))
        self.consume_all("moving", acked)
        print(f"scale-out: {len(acked)} records acknowledged during the move, 0 failed; "
              f"broker 3 now holds {len(hosted)} of 6 partitions")

        # A lost broker: its volume is replaced by an empty one and the pod comes back at once,
        # inside its lease. It must not count as in sync before it has copied the data again.
        brokers[2].process.kill9()
        shutil.rmtree(brokers[2].claim_dir)
        os.makedirs(brokers[2].claim_dir)
        os.chown(brokers[2].claim_dir, brokers[2].spec["uid"], brokers[2].spec["fs_group"])
        self.start([brokers[2]])

        def back_in_sync():
            partitions = admin.list_topics("orders", timeout=10).topics["orders"].partitions.values()
            return all(2 in p.isrs for p in partitions)
        harness.wait_until(back_in_sync, 60, "broker 2 back in every ISR of orders")
        # With the two other replicas gone, broker 2 alone serves what it now holds.
        for broker in brokers[:2]:
            broker.process.stop(timeout=120)
        only = f"sluice-broker-2.sluice-broker.{self.namespace}.{CLUSTER_DOMAIN}:9092"
        self.consume_all("orders", [f"first-{i}" for i in range(300)], bootstrap=only)


if __name__ == "__main__":
    unittest.main()
