"""Emulator speed, not AWS behaviour: moto's server work that answers the same every time, done once.

moto's server routes each request by listing moto's package directory and stat-ing every entry (about 200),
twice, under one global lock: on a busy machine concurrent requests queue behind that lock. The list
cannot change while the process runs, so it is computed once.
"""

from __future__ import annotations

import functools


def install(strict) -> None:
    from moto import backends

    listing = backends.list_of_moto_modules
    # werkzeug_app asks `host in backends.list_of_moto_modules()`: a frozenset answers that alike.
    strict.patcher.set(backends, "list_of_moto_modules", functools.cache(lambda: frozenset(listing())))
