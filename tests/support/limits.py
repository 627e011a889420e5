"""A limit on the threads and processes of one command the tests run, as a container's
``--pids-limit`` or a CI runner's ``TasksMax`` sets it.

``few_tasks(extra)`` is a context manager giving a ``preexec_fn`` for ``subprocess``:
the child may start ``extra`` more threads or processes, none after them. It puts the
child in a pids cgroup of its own (cgroups v1 ``/sys/fs/cgroup/pids``, or v2 with the
pids controller), ``pids.max`` being the child and ``extra``: the way the limit is met
for real. Where no cgroup can be made (not root, no pids controller), each thread's
stack is made 1 GiB (``RLIMIT_STACK``, which glibc sizes new threads by) and the
address space (``RLIMIT_AS``, ``ulimit -v``) leaves room for ``extra`` of them: a thread
(or a process, whose exec needs no more room than that) beyond them cannot be made,
as under the cgroup; ``mechanism`` says which one holds.
"""

from __future__ import annotations

import contextlib
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
