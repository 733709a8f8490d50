"""JSON Schema validation with errors a person can act on: the field's path, what it is, what was expected.

The schemas live in ``schema/<name>.schema.json``; jsonschema applies every keyword (every object in
them sets ``additionalProperties: false``, so an unknown or misspelt field is refused with its path).
The first problem becomes one typed line: ``<Prefix>::FieldMissing``, ``FieldUnknown`` or
``FieldInvalid``, with the schema's own description of what it expects.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parent / "schema"


@functools.lru_cache(maxsize=8)
def load(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


@functools.lru_cache(maxsize=8)
def validator(name: str):
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(load(name))
    return Draft202012Validator(load(name))


def _part(key) -> str:
    """A key as a path shows it: plain when it is an identifier, else quoted and cut (a user's key may hold
    newlines or anything else; an error message stays one line)."""
    key = str(key)
    return key if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]{0,40}", key) else json.dumps(key[:40])


def where(path) -> str:
    """``layers[2].region`` from jsonschema's path deque."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{_part(part)}" if out else _part(part))
    return out


def _expected(node: dict) -> str:
    if "description" in node:
        return node["description"]
    if "enum" in node:
        return "one of " + ", ".join(json.dumps(v) for v in node["enum"])
    return f"a {node.get('type', 'value')}"


def _ref(root: dict, node: dict) -> dict:
    """A local ``$ref`` (``#/$defs/name``) resolved."""
    while isinstance(node, dict) and "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _described(root: dict, err) -> dict:
    """The deepest schema node on the error's way that says what it expects (a description)."""
    node, best = root, {}
    for part in list(err.absolute_schema_path)[:-1]:
        node = _ref(root, node)
        node = node[part] if isinstance(node, (dict, list)) else {}
        if isinstance(node, dict) and "description" in _ref(root, node):
            best = _ref(root, node)
    return best or (err.schema if isinstance(err.schema, dict) else {})


def problem(root: dict, err) -> tuple[str, str, str, str]:
    """(kind, field path, what is wrong, what was expected) for one jsonschema error."""
    at = where(err.absolute_path)
    node = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "required":
        key = err.message.split("'")[1] if "'" in err.message else "?"
        return "FieldMissing", f"{at}.{_part(key)}".lstrip("."), "is missing", \
            _expected(_ref(root, node.get("properties", {}).get(key, {})))
    if err.validator == "additionalProperties" and isinstance(err.instance, dict) and "properties" in node:
        known = set(node.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in known)
        key = extra[0] if extra else "?"
        return ("FieldUnknown", f"{at}.{_part(key)}".lstrip("."), "is not a known field",
                "one of " + ", ".join(sorted(known)) if known else "no other field")
    value = json.dumps(err.instance, ensure_ascii=False)
    what = f"is {value[:40]}" if err.validator not in ("minItems", "maxItems", "minProperties", "maxProperties") \
        else f"has {len(err.instance)} {'items' if isinstance(err.instance, list) else 'keys'}"
    return "FieldInvalid", at, what, _expected(_described(root, err))


def check(doc, name: str, source: str, error, prefix: str) -> None:
    """Raise ``error`` (``<prefix>::<kind>``) naming the first problem of ``doc`` against schema ``name``."""
    errors = sorted(validator(name).iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if errors:
        kind, at, what, expected = problem(load(name), errors[0])
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise error(f"{source}: {at or 'document'} {what} (expected {expected}){more}", code=f"{prefix}::{kind}")
