"""The agent state's two patch formats: RFC 7386 JSON Merge Patch and RFC 6902 JSON Patch.

Both functions return a new document and never modify their arguments (containers along the changed paths
are copied, the rest is shared), so earlier states kept as checkpoints stay valid.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PatchError", "apply_json_patch", "apply_state_patch", "json_equal", "merge_patch"]


class PatchError(ValueError):
    """A patch that does not apply (RFC 6902: then none of its operations does)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: ``patch`` merged into ``target`` (null deletes a member; non-objects replace)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality (RFC 6902 ``test``): true is not 1, 1 equals 1.0, objects ignore member order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is not type(b):
        return False
    return a == b


def _pointer(path: Any) -> list[str]:
    """RFC 6901 reference tokens of a JSON Pointer ("" is the whole document)."""
    if not isinstance(path, str):
        raise PatchError("path must be a string")
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"path {path!r} must start with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _index(token: str, length: int, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return length
    if not token.isdigit() or not token.isascii() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"{token!r} is not an array index")
    index = int(token)
    if index > length or (index == length and not allow_end):
        raise PatchError(f"index {index} is out of range (length {length})")
    return index


def _get(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        if isinstance(doc, dict):
            if token not in doc:
                raise PatchError(f"no member {token!r}")
            doc = doc[token]
        elif isinstance(doc, list):
            doc = doc[_index(token, len(doc), allow_end=False)]
        else:
            raise PatchError(f"cannot descend into a {type(doc).__name__} at {token!r}")
    return doc


def _update(doc: Any, tokens: list[str], op: str, value: Any = None) -> Any:
    """A copy of ``doc`` with ``op`` ("add", "replace" or "remove") done at ``tokens``."""
    if not tokens:
        if op == "remove":
            raise PatchError("cannot remove the whole document")
        return value
    head, rest = tokens[0], tokens[1:]
    if isinstance(doc, dict):
        if rest:
            if head not in doc:
                raise PatchError(f"no member {head!r}")
            out = dict(doc)
            out[head] = _update(doc[head], rest, op, value)
            return out
        out = dict(doc)
        if op == "add":
            out[head] = value
        elif head not in doc:
            raise PatchError(f"no member {head!r}")
        elif op == "replace":
            out[head] = value
        else:
            del out[head]
        return out
    if isinstance(doc, list):
        if rest:
            i = _index(head, len(doc), allow_end=False)
            out_list = list(doc)
            out_list[i] = _update(doc[i], rest, op, value)
            return out_list
        out_list = list(doc)
        if op == "add":
            out_list.insert(_index(head, len(doc), allow_end=True), value)
        else:
            i = _index(head, len(doc), allow_end=False)
            if op == "replace":
                out_list[i] = value
            else:
                del out_list[i]
        return out_list
    raise PatchError(f"cannot descend into a {type(doc).__name__} at {head!r}")


def apply_json_patch(doc: Any, operations: list[Any]) -> Any:
    """RFC 6902: every operation in order, or :class:`PatchError` (and the caller keeps ``doc``)."""
    for n, operation in enumerate(operations, 1):
        if not isinstance(operation, dict):
            raise PatchError(f"operation {n} is not an object")
        op = operation.get("op")
        try:
            tokens = _pointer(operation.get("path"))
            if op in ("add", "replace", "test") and "value" not in operation:
                raise PatchError("missing value")
            if op == "add" or op == "replace" or op == "remove":
                doc = _update(doc, tokens, op, operation.get("value"))
            elif op == "test":
                if not json_equal(_get(doc, tokens), operation["value"]):
                    raise PatchError("test failed")
            elif op in ("move", "copy"):
                source = _pointer(operation.get("from"))
                value = _get(doc, source)
                if op == "move":
                    if tokens[: len(source)] == source and len(tokens) > len(source):
                        raise PatchError("cannot move a value into itself")
                    if tokens == source:
                        continue
                    doc = _update(doc, source, "remove")
                doc = _update(doc, tokens, "add", value)
            else:
                raise PatchError(f"unknown op {op!r}")
        except PatchError as exc:
            raise PatchError(f"operation {n} ({op}): {exc}") from None
    return doc


def apply_state_patch(state: Any, patch: Any) -> Any:
    """A StatePatched's ``patch`` applied: an object merges (RFC 7386), an array is a JSON Patch (RFC 6902).

    Raises :class:`PatchError` for an array that does not apply and for any other patch value.
    """
    if isinstance(patch, dict):
        return merge_patch(state, patch)
    if isinstance(patch, list):
        return apply_json_patch(state, patch)
    raise PatchError(f"the patch is a {_json_type(patch)}, neither an object nor an array")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__
