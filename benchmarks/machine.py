"""What the figures were measured on, for the README to cite."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from importlib import metadata
from pathlib import Path

from benchmarks.stats import percentile

PACKAGES = (
    "slack-bolt",
    "slack-sdk",
    "microsoft-agents-hosting-aiohttp",
    "microsoft-agents-hosting-core",
    "aiohttp",
    "tinydb",
)


def cpu_model() -> str:
    try:
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines()
        ):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def fsync_ms() -> float:
    """p50 of one durable 4 KB write as the store makes it: temp file, fsync, rename, dir fsync."""
    times = []
    with tempfile.TemporaryDirectory(prefix="reportbot-bench-") as tmp:
        target, scratch = Path(tmp) / "f", Path(tmp) / "f.tmp"
        for _ in range(30):
            start = time.perf_counter()
            fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            os.close(fd)
            os.replace(scratch, target)
            folder = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(folder)
            os.close(folder)
            times.append(time.perf_counter() - start)
    return percentile(times, 50) * 1000


def describe() -> list[str]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"Machine:  {cpu_model()}, {os.cpu_count()} cores, {ram_gib():.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}",
        f"Python:   {platform.python_implementation()} {platform.python_version()}",
        f"Packages: {', '.join(versions)}",
        f"Disk:     one durable 4 KB write (temp, fsync, rename, folder fsync) "
        f"p50 {fsync_ms():.2f} ms",
    ]
