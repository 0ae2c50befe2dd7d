"""Benchmark the HSDS import and export on a large synthetic directory.

    make bench-hsds                                         # 100,000 services
    .venv/bin/python tests/benchmarks/bench_hsds.py --services 10000 [--workdir DIR] [--keep]

Steps, each a separate `manage.py` process against a fresh SQLite database in a scratch folder:
generate N synthetic services as ndjson (generate.py), `migrate`, `import_hsds FILE --publish`,
`export_hsds --format ndjson`, `export_hsds --format csv`. For each it prints the wall time, services
per second and the process's peak resident memory, checks that every service went in and came out,
and compares the times with the targets of issue 4 (import at most 120 s and export at most 60 s for
100,000 services on a 2-core machine; scaled linearly for other sizes). The figures are saved as JSON
under tests/benchmarks/results/ (not committed). The exit status is 1 when a step fails or misses its
target. Run it on an otherwise idle machine: other processes on the cores inflate every figure.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

import generate  # noqa: E402 (beside this file, not a package on the path)

# Seconds for 100,000 services (issue 4, "Speed").
TARGETS = {"import": 120, "export ndjson": 60, "export csv": 60}
REFERENCE_SIZE = 100_000


def manage(workdir, *args):
    """Run one manage.py command on the benchmark database; (exit code, seconds, peak RSS MB, output)."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SECRET_KEY": "benchmark-only",
        "DEBUG": "",
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    # wait4 gives this child's own resource usage; ru_maxrss is in KiB on Linux.
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    return process.returncode, seconds, usage.ru_maxrss / 1024, output.strip()


def count_lines(path):
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def count_csv_rows(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def run(services, workdir):
    results = []

    def step(name, code, seconds, rss, output, *, produced=None):
        target = TARGETS.get(name)
        scaled = target * services / REFERENCE_SIZE if target else None
        ok = code == 0 and (produced is None or produced == services) and (scaled is None or seconds <= scaled)
        results.append(
            {
                "step": name,
                "exit_code": code,
                "seconds": round(seconds, 2),
                "services_per_second": round(services / seconds) if seconds else None,
                "peak_rss_mb": round(rss, 1) if rss is not None else None,
                "services_out": produced,
                "target_seconds": round(scaled, 1) if scaled else None,
                "ok": ok,
            }
        )
        rate = f"{services / seconds:9.0f} services/s" if name != "migrate" else " " * 20
        rss_text = f"{rss:7.0f} MB peak RSS" if rss is not None else ""
        verdict = "ok" if ok else "MISSED" if code == 0 and produced in (None, services) else "FAILED"
        target_text = f"  target {scaled:.0f} s: {verdict}" if scaled else ("" if ok else f"  {verdict}")
        print(f"{name:14} {seconds:8.1f} s {rate} {rss_text}{target_text}", flush=True)
        if code != 0 or produced not in (None, services):
            print(f"    services out: {produced}; output: {output[-2000:]}", flush=True)
        return code == 0

    source = workdir / "synthetic.ndjson"
    started = time.monotonic()
    generate.generate(source, services)
    step("generate", 0, time.monotonic() - started, None, "")

    code, seconds, rss, output = manage(workdir, "migrate", "--no-input", "-v", "0")
    if not step("migrate", code, seconds, rss, output):
        return results
    if not (ROOT / "resources" / "management" / "commands" / "import_hsds.py").exists():
        print("import_hsds does not exist yet: nothing to export.", flush=True)
        return results
    code, seconds, rss, output = manage(workdir, "import_hsds", source, "--publish")
    with sqlite3.connect(workdir / "bench.sqlite3") as database:
        (imported,) = database.execute("SELECT count(*) FROM resources_service").fetchone()
    step("import", code, seconds, rss, output, produced=imported)

    ndjson = workdir / "export.ndjson"
    code, seconds, rss, output = manage(workdir, "export_hsds", ndjson, "--format", "ndjson")
    step("export ndjson", code, seconds, rss, output, produced=count_lines(ndjson) if code == 0 else None)

    package = workdir / "export-csv"
    code, seconds, rss, output = manage(workdir, "export_hsds", package, "--format", "csv")
    rows = count_csv_rows(package / "services.csv") if code == 0 else None
    step("export csv", code, seconds, rss, output, produced=rows)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=REFERENCE_SIZE, help="default: 100000")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (its files are large)")
    options = parser.parse_args(argv)

    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="hsds-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "bench.sqlite3").unlink(missing_ok=True)
    load = os.getloadavg()
    print(f"HSDS benchmark: {options.services} synthetic services, in {workdir}, {os.cpu_count()} CPUs", flush=True)
    if load[0] > 0.5:
        print(f"Note: load average {load[0]:.1f} before starting; the figures include other work.", flush=True)
    try:
        results = run(options.services, workdir)
    finally:
        if not options.keep and not options.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {
        "services": options.services,
        "when": stamp,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": load,
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
        },
        "steps": results,
    }
    path = RESULTS / f"hsds-{options.services}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"Figures saved in {path.relative_to(ROOT)}.")
    timed = [result for result in results if result["target_seconds"]]
    return 0 if len(timed) == len(TARGETS) and all(result["ok"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
