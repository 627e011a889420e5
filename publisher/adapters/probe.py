"""The registry availability probe of ``publisher resolve``.

It lives in :mod:`publisher.resolve`, which must stay one self-contained file
(stdlib only, Python 3.9+) that stacks can vendor; this module re-exports its
probe for the rest of the package and the tests.
"""

from __future__ import annotations

from ..resolve import (
    ACCEPT,
    CACHE_TIMEOUT,
    DEFAULT_TIMEOUT,
    DOCKER_HUB,
    DOCKER_HUB_API,
    ENV_PASSWORD,
    ENV_USERNAME,
    IMAGE_TYPES,
    INDEX_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    BasicCredentials,
    Proxy,
    Result,
    Status,
    Target,
    api_host,
    cached_image,
    credentials_from_config,
    docker_config_path,
    docker_socket,
    find_credentials,
    helper_credentials,
    index_platforms,
    is_loopback,
    parse_challenges,
    platform_of,
    probe,
    proxy_for,
    release_lines,
)

__all__ = [
    "ACCEPT",
    "CACHE_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "DOCKER_HUB",
    "DOCKER_HUB_API",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "IMAGE_TYPES",
    "INDEX_TYPES",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "BasicCredentials",
    "Proxy",
    "Result",
    "Status",
    "Target",
    "api_host",
    "cached_image",
    "credentials_from_config",
    "docker_config_path",
    "docker_socket",
    "find_credentials",
    "helper_credentials",
    "index_platforms",
    "is_loopback",
    "parse_challenges",
    "platform_of",
    "probe",
    "proxy_for",
    "release_lines",
]
