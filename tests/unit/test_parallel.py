"""``in_parallel``: the order of its inputs, and which items run when one fails."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from publisher.core.errors import PublisherError
from publisher.stages.parallel import in_parallel, try_each


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


def test_try_each_runs_every_item_and_says_which_failed() -> None:
    """A tag write refused must not drop the writes queued behind it: which those are
    would depend on timing (one worker makes every later item queued behind it)."""
    ran: list[str] = []
    got = try_each(refusing({"a", "c"}, ran), ["a", "b", "c", "d"], workers=1)
    assert ran == ["a", "b", "c", "d"]
    assert [str(error) if error else None for error in got] == [
        "a refused",
        None,
        "c refused",
        None,
    ]


def test_try_each_keeps_the_items_order_not_the_order_in_time() -> None:
    later_failed = threading.Event()

    def fn(item: str) -> str:
        if item == "first":
            assert later_failed.wait(10)
            raise PublisherError("first refused")
        if item == "second":
            later_failed.set()
            raise PublisherError("second refused")
        return item

    got = try_each(fn, ["first", "second", "third"], workers=3)
    assert [str(error) if error else None for error in got] == [
        "first refused",
        "second refused",
        None,
    ]


def test_try_each_lets_what_is_not_a_publisher_error_through() -> None:
    """A defect is not an outcome to report as a refusal."""

    def fn(item: str) -> str:
        if item == "b":
            raise KeyError(item)
        return item

    with pytest.raises(KeyError):
        try_each(fn, ["a", "b"], workers=1)
