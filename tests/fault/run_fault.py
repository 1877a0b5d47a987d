#!/usr/bin/python3
"""Sluice fault suite: real controllers and brokers in network namespaces, real clients, seeded
fault schedules (see docs/fault-testing.md).

    run_fault.py --short                 a few fixed seeds; exit 1 when any schedule fails (CTest)
    run_fault.py --long N [--first-seed S] [--report FILE]
                                         N schedules from seed S on; keeps going past failures,
                                         prints a summary table and writes a JSON report
    run_fault.py --seed S [--seed T ...] exactly these seeds (to reproduce a failure)
    run_fault.py --rolling               a rolling restart (each broker, then each controller:
                                         SIGTERM, start, wait for /readyz) under the same
                                         workload and checks; exit 1 when anything failed (CTest)

Needs root (ip netns, veth, bridge). Binaries come from SLUICE_BUILD_DIR (default: build/).
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time

import netns_topology
from fault_cluster import BROKER_BIN, CONTROLLER_BIN, node_hosts
from schedule_run import ScheduleRun

# Chosen so that together they hit every fault kind: kill -9 (shorter and longer than the session
# timeout), SIGSTOP and isolation of a partition leader; kill -9, SIGSTOP and isolation of the
# quorum leader; isolation of a controller follower. About two and a half minutes.
SHORT_SEEDS = (163, 235, 398, 34)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--short", action="store_true", help=f"run the fixed seeds {SHORT_SEEDS}")
    mode.add_argument("--long", type=int, metavar="N", help="run N schedules (at least 100 for a real run)")
    mode.add_argument("--seed", type=int, action="append", help="run this seed (repeatable)")
    mode.add_argument("--rolling", action="store_true", help="run a rolling restart of every node")
    parser.add_argument("--first-seed", type=int, default=1000, help="first seed of --long (default 1000)")
    parser.add_argument("--report", help="JSON report path (default with --long: fault-report.json)")
    parser.add_argument("--keep", action="store_true", help="keep the data directories of passing schedules")
    return parser.parse_args()


def summary_of(results):
    def stats(values):
        if not values:
            return None
        return {"n": len(values), "min": round(min(values), 3), "median": round(statistics.median(values), 3),
                "max": round(max(values), 3)}
    counts = {}
    for r in results:
        for kind, n in r["counts"].items():
            if kind not in ("acked", "records_in_log"):
                counts[kind] = counts.get(kind, 0) + n
    broker = [f for r in results for f in r["broker_failovers"]]
    controller = [f for r in results for f in r["controller_failovers"]]
    return {
        "schedules": len(results),
        "passed": sum(r["passed"] for r in results),
        "failed_seeds": [r["seed"] for r in results if not r["passed"]],
        "faults": sum(len(r["faults"]) for r in results),
        "acked": sum(r["counts"].get("acked", 0) for r in results),
        "lost": counts.get("lost", 0),
        "duplicated": counts.get("duplicated", 0),
        "problem_counts": counts,
        "broker_failover_by_election_s": stats([f["seconds"] for f in broker if f["by_election"]]),
        "broker_recovered_before_failover": sum(1 for f in broker if not f["by_election"]),
        "broker_failover_by_kind_s": {k: stats([f["seconds"] for f in broker if f["kind"] == k and f["by_election"]])
                                      for k in sorted({f["kind"] for f in broker})},
        "controller_new_leader_s": stats([f["leader_seconds"] for f in controller]),
        "controller_admin_write_s": stats([f["write_seconds"] for f in controller]),
        "controller_failover_by_kind_s": {k: stats([f["write_seconds"] for f in controller if f["kind"] == k])
                                          for k in sorted({f["kind"] for f in controller})},
    }


def print_failure(result):
    print(f"\n==== FAILED: seed {result['seed']} ({'; '.join(result['faults'])})")
    print("problems:")
    for p in result["problems"]:
        print(f"  {p}")
    print("timeline:")
    print("\n".join(result["timeline"]))
    if result["traceback"]:
        print(result["traceback"])
    for name, tail in result["log_tails"].items():
        print(f"---- {name} (last lines of {result['data_dir']}/{name}.log) ----\n{tail}")
    print(f"reproduce: tests/fault/run_fault.py --seed {result['seed']}   (data kept in {result['data_dir']})\n",
          flush=True)


def print_table(results, summary):
    print(f"\n{'seed':>6} {'faults':<64} {'acked':>6} {'lost':>4} {'dup':>4} {'order':>5} {'offs':>4} "
          f"{'b-fail s':>8} {'c-fail s':>8}  result")
    for r in results:
        c = r["counts"]
        b = "/".join(f"{f['seconds']:.1f}" for f in r["broker_failovers"] if f["by_election"]) or "-"
        k = "/".join(f"{f['write_seconds']:.1f}" for f in r["controller_failovers"]) or "-"
        kinds = ", ".join(f.split(" for ")[0] for f in r["faults"])
        print(f"{r['seed']:>6} {kinds[:64]:<64} {c.get('acked', 0):>6} {c.get('lost', 0):>4} "
              f"{c.get('duplicated', 0):>4} {c.get('key_order', 0):>5} {c.get('offset_backwards', 0):>4} "
              f"{b[:8]:>8} {k[:8]:>8}  {'ok' if r['passed'] else 'FAIL ' + ','.join(sorted(set(p.split(':')[0] for p in r['problems'])))}")
    print(f"\n{summary['passed']}/{summary['schedules']} schedules passed ({summary['faults']} faults, "
          f"{summary['acked']} records acknowledged, {summary['lost']} lost, {summary['duplicated']} duplicated)")
    if summary["failed_seeds"]:
        print(f"failed seeds: {summary['failed_seeds']}  problems: {summary['problem_counts']}")

    def show(label, s):
        if s:
            print(f"  {label:<44} n={s['n']:<4} min {s['min']:.2f}s  median {s['median']:.2f}s  max {s['max']:.2f}s")
    show("broker failover (by election)", summary["broker_failover_by_election_s"])
    for kind, s in summary["broker_failover_by_kind_s"].items():
        show(f"  {kind}", s)
    print(f"  broker back before its leaderships moved: {summary['broker_recovered_before_failover']}")
    show("controller failover: new leader named", summary["controller_new_leader_s"])
    show("controller failover: admin write succeeded", summary["controller_admin_write_s"])
    for kind, s in summary["controller_failover_by_kind_s"].items():
        show(f"  {kind} (admin write)", s)


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("the fault suite needs root: it creates network namespaces, veth pairs and a bridge")
    for binary in (BROKER_BIN, CONTROLLER_BIN):
        if not os.access(binary, os.X_OK):
            sys.exit(f"missing {binary}: build first (deploy/build.sh) or set SLUICE_BUILD_DIR")
    if args.rolling:
        seeds = [0]
    else:
        seeds = list(SHORT_SEEDS) if args.short else args.seed or list(range(args.first_seed, args.first_seed + args.long))
    report = args.report or ("fault-report.json" if args.long else None)

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)

    stale = netns_topology.clean_stale()
    if stale:
        print(f"removed what earlier runs left behind: {', '.join(stale)}")
    topology = netns_topology.Topology(node_hosts())
    work = tempfile.mkdtemp(prefix="sluice-fault-")
    results = []
    interrupted_by = None
    try:
        topology.create()
        print(f"network: bridge {topology.bridge} {topology.bridge_address}/24, nodes "
              + ", ".join(f"{n}={a}" for n, a in topology.address.items()), flush=True)
        for seed in seeds:
            result = ScheduleRun(seed, topology, os.path.join(work, f"seed-{seed}"), rolling=args.rolling).run()
            results.append(result)
            print(f"seed {seed}: {'ok' if result['passed'] else 'FAILED'} in {result['seconds']}s "
                  f"({'; '.join(result['faults'])}; {result['counts'].get('acked', 0)} acked)", flush=True)
            if not result["passed"]:
                print_failure(result)
            else:
                print("\n".join(result["timeline"]), flush=True)
                if not args.keep:
                    shutil.rmtree(result["data_dir"], ignore_errors=True)
            if report:
                write_report(report, results)
    except KeyboardInterrupt as e:  # report what finished; the schedule in progress is dropped
        interrupted_by = str(e) or "SIGINT"
    finally:
        topology.destroy()
        if not any(not r["passed"] for r in results) and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    summary = summary_of(results)
    print_table(results, summary)
    for r in results:
        for restart in r["restarts"]:
            print(f"  rolling restart {restart['node']:<16} exited {restart['stop_seconds']:.2f}s after SIGTERM, "
                  f"ready {restart['ready_seconds']:.2f}s after its start")
    if report:
        write_report(report, results)
        print(f"report: {os.path.abspath(report)}")
    if interrupted_by:
        print(f"interrupted ({interrupted_by}) after {len(results)} of {len(seeds)} schedules")
        return 130
    return 0 if summary["passed"] == len(results) else 1


def write_report(path, results):
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump({"written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "summary": summary_of(results),
                   "schedules": results}, f, indent=1)
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main())
