"""Run one command; print its stdout, then one JSON line: wall seconds (spawn to exit), peak RSS, CPU seconds,
exit code, and the wall clock at spawn and at exit (to set against the emulator's first and last request).

    python -m bench.measure -- CMD ARGS...

This wrapper has no other child, so RUSAGE_CHILDREN's ru_maxrss is the command's own peak (Linux: KiB).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    spawned_at = time.time()
    started = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.PIPE)
    seconds = time.perf_counter() - started
    exited_at = time.time()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_kb = usage.ru_maxrss
    sys.stdout.write(proc.stdout.decode("utf-8", "replace"))
    print()
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "peak_mb": round(peak_kb / 1024, 1),
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
                "rc": proc.returncode,
                "spawned_at": spawned_at,
                "exited_at": exited_at,
            }
        )
    )


if __name__ == "__main__":
    main()
