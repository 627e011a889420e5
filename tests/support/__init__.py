"""Test support: the one place for fakes, fixtures' machinery and helpers (not test modules).

Fakes the unit tests use to drive stages and adapters without a process or a socket:

* ``fake_runner``  a Runner that records argv and answers from a script
* ``fake_builder`` a Builder that runs no tool: writes a STAND-IN layout per leg, or a scripted failure
* ``clock``        a fake clock/sleep for RetryPolicy
* ``fake_github``  the GitHub API on a local HTTP server (the one stand-in for a service)

Plain data the tests build from:

* ``matrices``     the acme matrix.yaml the planning tests share, varied by keywords
* ``records``      release records as publish writes them, for tests of a published release

Real parts the integration tests start:

* ``images``       small multi-arch images assembled blob by blob; raw (client-free) seeding
* ``tokenserver``  a Bearer token server for the distribution registry's token auth
* ``faultproxy``   a scripted fault-injecting proxy that counts requests and uploaded bytes
* ``connectproxy`` an HTTP proxy (CONNECT tunnels and forwarding) with its own host table
* ``builds``       a quiet runner and image clean-up for real builds
* ``pipeline``     a release stack (matrix, registries, CLI runs) for end-to-end tests
* ``real_php_bases`` test_real_php's Debian bases, made in the background from collection on
* ``workflow_policy`` the rules the workflow files are held to
"""
