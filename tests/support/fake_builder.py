"""A builder that runs no build tool, for tests of the build stage's own logic.

``FakeBuilder.build`` writes a tiny STAND-IN image (assembled in Python by
``images.make_platform_image``, labelled with the pin and the base as the rendered
Dockerfile labels a real image) into the request's OCI layout, as buildah and docker
do; the stage then pushes it to a real registry. ``fail`` scripts a failure per
(PHP line, platform); ``built`` lists every build asked for.

Real builds (buildah, docker, buildx, both platforms) are tested in
``tests/integration/test_builders.py`` and end to end in ``test_pipeline.py``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from publisher.adapters.builders import BuildOutput, BuildRequest
from publisher.core.errors import PublisherError
from publisher.core.platforms import Platform
from publisher.resolve import pin_tag
from publisher.stages.build import BASE_LABEL, VERSION_LABEL

from .images import make_platform_image, write_layout


@dataclass
class FakeBuilder:
    #: What the digest records name as the builder: not one of the real ones.
    name: Any = "fake-builder"
    fail: Mapping[tuple[str, Platform], PublisherError] = field(default_factory=dict)
    built: list[tuple[str, Platform]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def available(self) -> bool:
        return True

    def check(self) -> str:
        return "fake-builder (writes STAND-IN layouts, runs no build tool)"

    def commands(self, request: BuildRequest) -> tuple[tuple[str, ...], ...]:
        return (("fake-build", request.slug),)

    def build(self, request: BuildRequest) -> BuildOutput:
        start = time.monotonic()
        with self._lock:
            self.built.append((request.php, request.platform))
        error = self.fail.get((request.php, request.platform))
        if error is not None:
            raise error
        seed = f"{request.php} {request.platform} {request.base} {request.release}"
        image = make_platform_image(
            str(request.platform),
            rng=random.Random(seed),
            labels={
                VERSION_LABEL: pin_tag(request.release, request.php),
                BASE_LABEL: str(request.base),
                "org.opencontainers.image.description": "STAND-IN test image",
            },
        )
        write_layout(image, request.layout_dir)
        return BuildOutput.finished(
            request, self.name, image.digest, layout=request.layout_dir, started=start
        )
