"""A throw-away PostgreSQL cluster for the tests, started once per test session.

Debian's server binaries (`apt-get install -y postgresql`), a data folder and a socket folder
in a private temporary folder, listening on a free loopback port only, with fsync off: it
holds nothing worth keeping (the benchmark asks for fsync on, so its figures are honest).
`initdb` refuses to run as root, so as root (CI) the cluster runs as the `postgres` user, who
owns the folder.

The migrations run once on a database the tests share; each test empties it first (see
tests/conftest.py), and the migration tests get new, empty databases of their own.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSTALL = (
    "The Postgres tests need PostgreSQL's server binaries (initdb, pg_ctl, postgres), and "
    "none were found. Install them with `apt-get install -y postgresql` (Debian/Ubuntu; "
    "`.ci/run` does this), or set REPORTBOT_PG_BIN to the folder that holds initdb."
)
SHARED = "reportbot_tests"  # the migrated database the tests share, emptied before each


def find_bindir() -> Path | None:
    """REPORTBOT_PG_BIN if set (and only it), else the newest /usr/lib/postgresql/N/bin,
    else the folder of `initdb` on PATH."""
    named = os.environ.get("REPORTBOT_PG_BIN")
    if named:
        candidates = [Path(named)]
    else:
        newest_first = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version)[::-1]
        on_path = shutil.which("initdb")
        candidates = newest_first + ([Path(on_path).parent] if on_path else [])
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _version(bindir: Path) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", bindir.parent.name)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bindir: Path
    root: Path
    port: int = field(default_factory=free_port)
    fsync: bool = False
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def next_name(self) -> str:
        return f"test_{next(self._names)}"

    def _run(self, *args: str) -> None:
        """As root, as the `postgres` user, by the kernel's own setuid (no runuser, so no PAM
        session); always in a session of its own, so that the server pg_ctl leaves running
        shares no process group or terminal with the tests."""
        as_postgres: dict[str, Any] = (
            {"user": "postgres", "group": "postgres", "extra_groups": []}
            if os.geteuid() == 0
            else {}
        )
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            cwd=self.root,
            start_new_session=True,
            **as_postgres,
        )
        if done.returncode != 0:
            log = self.root / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:1])} failed:\n{done.stderr}\n{tail}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8",
        )  # fmt: skip
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        options += "" if self.fsync else " -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-w", "-o", options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(*, fsync: bool = False) -> Cluster:
    """Start a cluster, or raise RuntimeError saying how to get the binaries."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(INSTALL)
    root = Path(tempfile.mkdtemp(prefix="reportbot-pg-"))
    if os.geteuid() == 0:
        try:
            shutil.chown(root, "postgres", "postgres")
        except LookupError:
            shutil.rmtree(root)
            raise RuntimeError(
                "initdb does not run as root, and there is no `postgres` user to run it as. "
                + INSTALL
            ) from None
    cluster = Cluster(bindir, root, fsync=fsync)
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster
