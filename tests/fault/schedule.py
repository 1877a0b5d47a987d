"""Seeded fault schedules: a schedule is 1-3 faults, one after another, each with the pause
before it and how long it lasts. The same seed always gives the same schedule; which broker or
controller a fault hits is decided when it is injected (the one leading a partition, the quorum
leader), since leadership depends on the run, and the timeline names it."""
import random
from dataclasses import asdict, dataclass

from fault_cluster import SESSION_TIMEOUT_MS

SESSION = SESSION_TIMEOUT_MS / 1000

# kind -> (what it does, shortest and longest duration in seconds)
FAULTS = {
    "kill_broker": ("kill -9 a partition leader, restart it after the duration", 1.0, 7.0),
    "pause_broker": ("SIGSTOP a partition leader past its session timeout, then SIGCONT", SESSION + 1, SESSION + 5),
    "isolate_broker": ("take the link of a partition leader down, then up", 2.0, 8.0),
    "kill_controller": ("kill -9 the quorum leader, restart it after the duration", 1.0, 6.0),
    "pause_controller": ("SIGSTOP the quorum leader past the broker session timeout, then SIGCONT",
                         SESSION + 1, SESSION + 5),
    "isolate_controller": ("take the link of a controller down (mostly the leader), then up", 2.0, 8.0),
}


@dataclass(frozen=True)
class Fault:
    kind: str
    gap: float        # seconds of normal running before the fault
    duration: float   # seconds the fault lasts
    pick: float       # in [0, 1): which of the candidate targets, in id order
    leader: bool      # controller faults: aim at the quorum leader (else a follower)

    def describe(self):
        target = (" (leader)" if self.leader else " (follower)") if self.kind == "isolate_controller" else ""
        return f"{self.kind}{target} for {self.duration:.1f}s after {self.gap:.1f}s"

    def to_json(self):
        return asdict(self)


# A rolling restart, as the StatefulSet controller performs one: each broker, then each
# controller, stopped with SIGTERM, started again and waited for on /readyz before the next.
ROLLING_GAP = 2.0


def rolling_restart(brokers, controllers):
    return ([Fault(kind="restart_broker", gap=ROLLING_GAP, duration=0.0, pick=i / brokers, leader=False)
             for i in range(brokers)] +
            [Fault(kind="restart_controller", gap=ROLLING_GAP, duration=0.0, pick=i / controllers, leader=False)
             for i in range(controllers)])


def generate(seed):
    rng = random.Random(seed)
    faults = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(sorted(FAULTS))
        _, shortest, longest = FAULTS[kind]
        faults.append(Fault(kind=kind, gap=round(rng.uniform(2.0, 5.0), 1),
                            duration=round(rng.uniform(shortest, longest), 1), pick=rng.random(),
                            leader=kind != "isolate_controller" or rng.random() < 0.75))
    return faults
