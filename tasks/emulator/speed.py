"""Emulator speed, not AWS behaviour: moto's server work that answers the same every time, done once.

- moto's server routes each request by listing moto's package directory and stat-ing every entry (about 200),
  twice, under one global lock: on a busy machine concurrent requests queue behind that lock. The list
  cannot change while the process runs, so it is computed once.
- moto's response serializer asks, for every attribute of every object it writes, which attribute names the
  object might carry it under (six alias rules and botocore's xform_name, each time): a tenth of the
  emulator's CPU in `dr demo`. The answer depends only on the picker's rules, the object's class, the key and
  the botocore shape (each member shape belongs to one structure, so its parent is fixed), so it is kept,
  and the serializer's per-attribute lookup uses it without building a picker context (and its dotted path,
  read only by response transformers) for each attribute.
- moto lists a response class's methods (inspect.getmembers) on every request to check the action is one:
  the classes do not change once the layer is installed, so each class is listed once.
- moto writes each XML response with xmltodict.unparse, through SAX's XMLGenerator one call per element:
  a third of the emulator's time answering a describe of a dozen DB instances, which every other request
  then queues behind (one request at a time). The plain case (no pretty-printing, no comments, namespaces
  or root) is written directly, byte for byte as xmltodict writes it; anything else goes to xmltodict.
"""

from __future__ import annotations

import functools
import re
from xml.sax.saxutils import escape, quoteattr


def install(strict) -> None:
    from moto import backends
    from moto.core import responses, serialize

    listing = backends.list_of_moto_modules
    # werkzeug_app asks `host in backends.list_of_moto_modules()`: a frozenset answers that alike.
    strict.patcher.set(backends, "list_of_moto_modules", functools.cache(lambda: frozenset(listing())))
    for picker in (serialize.AttributePicker, serialize.XFormedAttributePicker):
        strict.patcher.wrap(picker, "get_possible_keys", _remembered)
    strict.patcher.wrap(serialize.ResponseSerializer, "get_value", _picked)
    strict.patcher.set(responses, "method_names_from_class", functools.cache(responses.method_names_from_class))
    strict.patcher.set(serialize.xmltodict, "unparse", _direct(serialize.xmltodict.unparse))


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


def _picked(original):
    from moto.core.serialize import AttributePicker, AttributePickerContext, XFormedAttributePicker
    from moto.core.utils import MISSING
    from moto.core.utils import get_value as attribute

    plain = (AttributePicker, XFormedAttributePicker)  # no subclass: those may pick differently
    keys: dict[tuple, tuple] = {}  # as in _remembered; the picker's class too (XFormed adds names)

    def get_value(self, value, key, shape):
        picker = self._value_picker
        if type(picker) not in plain or picker.response_transformers:
            return original(self, value, key, shape)
        remembered = (type(picker), id(picker.alias_providers), type(value), key, id(shape))
        known = keys.get(remembered)
        if known is None:
            context = AttributePickerContext(
                value, key, shape, self.operation_model, self.operation_model.service_model
            )
            names = tuple(picker.get_possible_keys(context))
            known = keys[remembered] = (names, shape, picker.alias_providers)
        for name in known[0]:  # AttributePicker.__call__ without transformers: the first name the object has
            found = attribute(value, name, MISSING)
            if found is not MISSING:
                return found
        return None

    return get_value


class _Unusual(Exception):
    """Something the direct writer leaves to xmltodict (which also raises its own errors for bad names)."""


# xmltodict's _validate_name refuses these in element and attribute names.
_BAD_NAME = re.compile(r"""^[?!]|[<>/"'=\s]""")


def _direct(original):
    def unparse(input_dict, output=None, encoding="utf-8", full_document=True, short_empty_elements=False, **kwargs):
        plain = output is None and not full_document and short_empty_elements and set(kwargs) <= {"pretty"}
        written = write_plain(input_dict) if plain and not kwargs.get("pretty") else None
        if written is not None:
            return written
        return original(
            input_dict,
            output=output,
            encoding=encoding,
            full_document=full_document,
            short_empty_elements=short_empty_elements,
            **kwargs,
        )

    return unparse


def write_plain(input_dict) -> str | None:
    """xmltodict.unparse(input_dict, full_document=False, short_empty_elements=True), or None for what only
    xmltodict writes (comments, namespace maps, bytes, names it refuses)."""
    out: list[str] = []
    try:
        for key, value in input_dict.items():
            _element(key, value, out)
    except _Unusual:
        return None
    return "".join(out)


def _text(value) -> str:
    # xmltodict's _convert_value_to_string
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise _Unusual
    return str(value)


def _name(key) -> str:
    if not isinstance(key, str) or key == "#comment" or _BAD_NAME.search(key):
        raise _Unusual
    return key


def _element(key, value, out: list[str]) -> None:
    """xmltodict._emit with its defaults (attributes "@", text "#text"), not pretty, short empty elements."""
    name = _name(key)
    if not hasattr(value, "__iter__") or isinstance(value, (str, bytes, bytearray, memoryview, dict)):
        value = [value]
    for item in value:
        if item is None:
            item = {}
        elif not isinstance(item, (dict, str)):
            item = _text(item)
        if isinstance(item, str):
            out.append(f"<{name}>{escape(item)}</{name}>" if item else f"<{name}/>")
            continue
        text = None
        attrs: list[str] = []
        children = []
        for child, child_value in item.items():
            if child == "#text":
                text = None if child_value is None else _text(child_value)
            elif isinstance(child, str) and child.startswith("@"):
                if child == "@xmlns" and isinstance(child_value, dict):
                    raise _Unusual
                attr = _name(child[1:])
                attrs.append(f" {attr}={quoteattr('' if child_value is None else _text(child_value))}")
            elif not (isinstance(child_value, list) and not child_value):
                children.append((child, child_value))
        out.append(f"<{name}{''.join(attrs)}")
        if not children and not text:
            out.append("/>")
            continue
        out.append(">")
        for child, child_value in children:
            _element(child, child_value, out)
        if text:
            out.append(escape(text))
        out.append(f"</{name}>")
