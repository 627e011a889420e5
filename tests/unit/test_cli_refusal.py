"""A command line click refuses becomes publisher's usage error with every click publisher supports."""

from __future__ import annotations

import click
import pytest

from publisher.cli.base import refusal_error
from publisher.core.errors import UsageError


def _refusal() -> click.UsageError:
    command = click.Command("build", params=[click.Option(["--php"])])
    group = click.Group("publisher", commands=[command])
    ctx = click.Context(command, info_name="build", parent=click.Context(group, info_name="x"))
    return click.UsageError("No such option: --bogus", ctx=ctx)


def test_a_refusal_is_a_usage_error_naming_the_command() -> None:
    error = refusal_error(_refusal())
    assert isinstance(error, UsageError)
    assert "--bogus" in str(error)
    assert "publisher build --help" in (error.hint or "")


def test_a_refusal_is_a_usage_error_with_click_8_1(monkeypatch: pytest.MonkeyPatch) -> None:
    # click 8.1 (pyproject: click>=8.1) has no NoArgsIsHelpError
    monkeypatch.delattr(click.exceptions, "NoArgsIsHelpError", raising=False)
    error = refusal_error(_refusal())
    assert isinstance(error, UsageError)
    assert "publisher build --help" in (error.hint or "")
