"""Holds the cluster to what it acknowledged. Pure functions over what the workload recorded and
what the final read returned, so tests/fault/test_checker.py can prove each check fails when it
should."""
from dataclasses import dataclass, field

from workload import decode

MAX_EXAMPLES = 10


@dataclass
class ProducerRecord:
    """What one producer knows: how many sequences it handed out per key, which it saw
    acknowledged where, and how it ended."""
    producer_id: int
    produced: dict            # key -> count of sequences produced
    acked: dict               # (key, sequence) -> (partition, offset)
    delivery_errors: list = field(default_factory=list)
    fatal: list = field(default_factory=list)
    undelivered: int = 0
    crashed: str = None


@dataclass
class GroupRecord:
    """What the group's members saw: every delivered record, every successful commit (answered
    at, partition, offset), every committed-offset fetch (sent at, answered at, offsets)."""
    delivered: list
    commits: list
    fetches: list
    fatal: list = field(default_factory=list)
    crashed: list = field(default_factory=list)


@dataclass
class Verdict:
    counts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def add(self, kind, text):
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if sum(1 for p in self.problems if p.startswith(kind + ":")) < MAX_EXAMPLES:
            self.problems.append(f"{kind}: {text}")

    @property
    def ok(self):
        return not self.problems


def check(producers, group, final_fetch, log, high_watermarks):
    """`log`: {partition: [(offset, key, value)]} read from offset 0 to `high_watermarks`;
    `final_fetch`: (sent at, answered at, {partition: offset}) after the group stopped."""
    verdict = Verdict()
    acked = check_records(producers, log, high_watermarks, verdict)
    check_producers(producers, verdict)
    check_commits(group, final_fetch, high_watermarks, verdict)
    check_deliveries(group, log, verdict)
    verdict.counts["acked"] = acked
    verdict.counts["records_in_log"] = sum(len(r) for r in log.values())
    return verdict


def check_records(producers, log, high_watermarks, verdict):
    """Every acknowledged record exactly once, where it was acknowledged; nothing that was not
    produced; per key, sequences in increasing offset order; offsets without holes."""
    produced = {(p.producer_id, k): n for p in producers for k, n in p.produced.items()}
    seen = {}      # (producer, key, sequence) -> [(partition, offset)]
    by_key = {}    # (producer, key) -> [(partition, offset, sequence)]
    for partition, records in sorted(log.items()):
        expected_offset = 0
        for offset, key, value in records:
            if offset != expected_offset:
                verdict.add("offset_hole", f"partition {partition}: offset {offset} follows {expected_offset - 1}")
            expected_offset = offset + 1
            record = decode(key, value)
            if record is None:
                verdict.add("unexpected", f"partition {partition} offset {offset}: key {key!r} value {value!r}")
                continue
            producer, k, sequence = record
            if sequence >= produced.get((producer, k), 0):
                verdict.add("unexpected", f"partition {partition} offset {offset}: {value!r} was never produced")
                continue
            seen.setdefault(record, []).append((partition, offset))
            by_key.setdefault((producer, k), []).append((partition, offset, sequence))
        if expected_offset != high_watermarks.get(partition, 0):
            verdict.add("offset_hole", f"partition {partition}: read up to {expected_offset}, "
                                       f"high watermark {high_watermarks.get(partition)}")
    for record, places in seen.items():
        if len(places) > 1:
            verdict.add("duplicated", f"{record} at {places}")
    acked = 0
    for p in producers:
        for (k, sequence), place in p.acked.items():
            acked += 1
            places = seen.get((p.producer_id, k, sequence))
            if not places:
                verdict.add("lost", f"{(p.producer_id, k, sequence)} acknowledged at {place}, absent from the log")
            elif place not in places:
                verdict.add("moved", f"{(p.producer_id, k, sequence)} acknowledged at {place}, found at {places}")
    for key, entries in by_key.items():
        if len({partition for partition, _, _ in entries}) > 1:
            verdict.add("key_order", f"key {key} in several partitions: {sorted({e[0] for e in entries})}")
            continue
        entries.sort()
        for before, after in zip(entries, entries[1:]):
            if after[2] <= before[2]:
                verdict.add("key_order", f"key {key}: sequence {after[2]} at offset {after[1]} "
                                         f"after sequence {before[2]} at offset {before[1]}")
    return acked


def check_producers(producers, verdict):
    for p in producers:
        for error in p.fatal:
            verdict.add("producer_fatal", f"producer {p.producer_id}: {error}")
        for key, sequence, error in p.delivery_errors[:MAX_EXAMPLES]:
            verdict.add("delivery_failed", f"producer {p.producer_id} key {key} sequence {sequence}: {error}")
        if p.undelivered:
            verdict.add("undelivered", f"producer {p.producer_id}: {p.undelivered} records never answered")
        if p.crashed:
            verdict.add("client_crashed", f"producer {p.producer_id}: {p.crashed}")


def check_commits(group, final_fetch, high_watermarks, verdict):
    """Committed offsets never go backwards, and a successful commit is never lost: an answer
    to a fetch sent after another fetch (or a commit) was answered shows at least its offset."""
    for error in group.fatal:
        verdict.add("consumer_fatal", error)
    for crash in group.crashed:
        verdict.add("client_crashed", crash)
    fetches = sorted([*group.fetches, final_fetch], key=lambda f: f[0])
    # Facts known at a time: (answered at, partition, offset, what told us).
    facts = [(answered, p, o, f"fetch answered at {answered:.3f}") for _, answered, offsets in group.fetches
             for p, o in offsets.items() if o >= 0]
    facts += [(answered, p, o, f"commit answered at {answered:.3f}") for answered, p, o in group.commits]
    facts.sort(key=lambda f: f[0])
    highest, i = {}, 0
    for sent, answered, offsets in fetches:
        while i < len(facts) and facts[i][0] < sent:
            _, p, o, source = facts[i]
            if o > highest.get(p, (-1, ""))[0]:
                highest[p] = (o, source)
            i += 1
        for p, (o, source) in highest.items():
            got = offsets.get(p, -1)
            if got is None or got < o:
                verdict.add("offset_backwards", f"partition {p}: fetch sent at {sent:.3f} got {got}, "
                                                f"below {o} ({source})")
    for p, o in final_fetch[2].items():
        if o > high_watermarks.get(p, 0):
            verdict.add("offset_beyond_log", f"partition {p}: committed {o} above high watermark {high_watermarks.get(p)}")


def check_deliveries(group, log, verdict):
    """Whatever the group was given exists in the final log at the same offset: a consumer never
    saw a record that a failover later took back."""
    at = {(partition, offset): (key, value) for partition, records in log.items() for offset, key, value in records}
    for partition, offset, key, value in group.delivered:
        if at.get((partition, offset)) != (key, value):
            verdict.add("delivered_not_in_log", f"partition {partition} offset {offset}: the group got {value!r}, "
                                                f"the log holds {at.get((partition, offset))}")
