"""The tip for a registry that refused an audit repair's write names the rerun once."""

from __future__ import annotations

import pytest

from publisher.core.errors import RegistryError
from publisher.stages.audit import refused_advice


@pytest.mark.parametrize(
    "hint",
    [
        "check what sits in front of the registry (and its logs), then rerun",
        "no proxy drops the Authorization header; then rerun (blobs already stored are not "
        "sent again)",
        "check the reason it gave",
    ],
)
def test_the_rerun_is_said_once_whatever_the_refusal_s_tip_ends_with(hint: str) -> None:
    advice = refused_advice(RegistryError("PUT manifest: refused", hint=hint))
    assert advice.count("rerun") == 1, advice
    assert advice.endswith("; then rerun `publisher audit --repair`"), advice
    assert advice.startswith(hint.split(", then rerun")[0].split("; then rerun")[0])
