"""Limits of the machine for one command the tests run: on its threads and processes, as
a container's ``--pids-limit`` or a CI runner's ``TasksMax`` sets them; on its open files,
as ``ulimit -Hn`` in a container sets them.

``few_tasks(extra)`` is a context manager giving a ``preexec_fn`` for ``subprocess``:
the child may start ``extra`` more threads or processes, none after them. It puts the
child in a pids cgroup of its own (cgroups v1 ``/sys/fs/cgroup/pids``, or v2 with the
pids controller), ``pids.max`` being the child and ``extra``: the way the limit is met
for real. Where no cgroup can be made (not root, no pids controller), each thread's
stack is made 1 GiB (``RLIMIT_STACK``, which glibc sizes new threads by) and the
address space (``RLIMIT_AS``, ``ulimit -v``) leaves room for ``extra`` of them: a thread
(or a process, whose exec needs no more room than that) beyond them cannot be made,
as under the cgroup; ``mechanism`` says which one holds.

``hard_open_files(n)`` is a ``preexec_fn`` setting the hard (and soft) open-files limit
to ``n`` in a process that may not raise it again: CAP_SYS_RESOURCE is dropped from its
bounding set, so that root too runs without it after the exec, as in a docker container.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
GIB = 1 << 30


@dataclass(frozen=True)
class Limit:
    preexec: Callable[[], None]
    mechanism: str  # "cgroup" or "rlimit"


def _cgroup(extra: int) -> Path | None:
    """A new pids cgroup allowing ``1 + extra`` tasks, or None when none can be made."""
    for root in CGROUP_ROOTS:
        controllers = root / "cgroup.controllers"  # v2: the pids controller must be there
        if root.name != "pids" and not (
            controllers.exists() and "pids" in controllers.read_text().split()
        ):
            continue
        group = root / f"publisher-test-{uuid.uuid4().hex[:12]}"
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(f"{1 + extra}\n")
            return group
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


@contextlib.contextmanager
def few_tasks(extra: int) -> Iterator[Limit]:
    """The child may start ``extra`` threads or processes more than itself (see module)."""
    group = _cgroup(extra)
    if group is not None:
        procs = str(group / "cgroup.procs")

        def join() -> None:
            with open(procs, "w") as handle:
                handle.write(f"{os.getpid()}\n")

        try:
            yield Limit(join, "cgroup")
        finally:
            with contextlib.suppress(OSError):
                group.rmdir()  # its tasks have exited: the test waited for them
        return

    def limit() -> None:
        resource.setrlimit(
            resource.RLIMIT_STACK, (GIB, resource.getrlimit(resource.RLIMIT_STACK)[1])
        )
        room = GIB * extra + GIB * 3 // 2  # the interpreter and its heap: under 1.5 GiB
        resource.setrlimit(resource.RLIMIT_AS, (room, room))

    yield Limit(limit, "rlimit")


PR_CAPBSET_DROP = 24
CAP_SYS_RESOURCE = 24


def hard_open_files(limit: int) -> Callable[[], None]:
    """A ``preexec_fn``: open files limited to ``limit``, soft and hard, for good."""

    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0)  # fails only where it lacks it

    return preexec
