"""Emulator speed, not AWS behaviour: moto's server work that answers the same every time, done once.

- moto's server routes each request by listing moto's package directory and stat-ing every entry (about 200),
  twice, under one global lock: on a busy machine concurrent requests queue behind that lock. The list
  cannot change while the process runs, so it is computed once.
- moto's response serializer asks, for every attribute of every object it writes, which attribute names the
  object might carry it under (six alias rules and botocore's xform_name, each time): a tenth of the
  emulator's CPU in `dr demo`. The answer depends only on the picker's rules, the object's class, the key and
  the botocore shape (each member shape belongs to one structure, so its parent is fixed), so it is kept.
"""

from __future__ import annotations

import functools


def install(strict) -> None:
    from moto import backends
    from moto.core import serialize

    listing = backends.list_of_moto_modules
    # werkzeug_app asks `host in backends.list_of_moto_modules()`: a frozenset answers that alike.
    strict.patcher.set(backends, "list_of_moto_modules", functools.cache(lambda: frozenset(listing())))
    for picker in (serialize.AttributePicker, serialize.XFormedAttributePicker):
        strict.patcher.wrap(picker, "get_possible_keys", _remembered)


def _remembered(original):
    # Values hold the shape and the rule list too, so the ids in the key are never reused while cached.
    cache: dict[tuple, tuple] = {}

    def get_possible_keys(self, context):
        shape, rules = context.shape, self.alias_providers
        key = (id(rules), type(context.obj), context.key, id(shape))
        known = cache.get(key)
        if known is None:
            known = cache[key] = (tuple(original(self, context)), shape, rules)
        return iter(known[0])

    return get_possible_keys
