"""``in_parallel``: the order of its inputs, and which items run when one fails."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from publisher.core.errors import PublisherError
from publisher.stages.parallel import in_parallel


def refusing(refused: set[str], ran: list[str]) -> Callable[[str], str]:
    def fn(item: str) -> str:
        ran.append(item)
        if item in refused:
            raise PublisherError(f"{item} refused")
        return item.upper()

    return fn


def test_results_keep_the_order_of_the_items() -> None:
    assert in_parallel(str.upper, ["a", "b", "c", "d"], workers=3) == ["A", "B", "C", "D"]


def test_by_default_the_first_error_stops_the_items_not_yet_started() -> None:
    ran: list[str] = []
    with pytest.raises(PublisherError, match="a refused"):
        in_parallel(refusing({"a"}, ran), ["a", "b", "c"], workers=1)
    assert ran == ["a"]


def test_finish_all_runs_every_item_then_raises_the_first_error() -> None:
    """A tag write refused must not drop the writes queued behind it: which those are
    would depend on timing (one worker makes every later item queued behind it)."""
    ran: list[str] = []
    with pytest.raises(PublisherError, match="a refused"):
        in_parallel(refusing({"a", "c"}, ran), ["a", "b", "c", "d"], workers=1, finish_all=True)
    assert ran == ["a", "b", "c", "d"]


def test_finish_all_raises_the_error_first_in_the_items_order_not_in_time() -> None:
    later_failed = threading.Event()

    def fn(item: str) -> str:
        if item == "first":
            assert later_failed.wait(10)
            raise PublisherError("first refused")
        if item == "second":
            later_failed.set()
            raise PublisherError("second refused")
        return item

    with pytest.raises(PublisherError, match="first refused"):
        in_parallel(fn, ["first", "second", "third"], workers=3, finish_all=True)


def test_finish_all_returns_every_result_when_nothing_failed() -> None:
    ran: list[str] = []
    got = in_parallel(refusing(set(), ran), ["x", "y"], finish_all=True, first_alone=True)
    assert got == ["X", "Y"] and ran[0] == "x"
