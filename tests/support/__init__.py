"""Test support shared by the integration tests.

* ``images``      small multi-arch images assembled blob by blob; raw (client-free) seeding
* ``tokenserver`` a Bearer token server for the distribution registry's token auth
* ``faultproxy``  a scripted fault-injecting proxy that counts requests and uploaded bytes
* ``clock``       a fake clock/sleep for RetryPolicy
"""
