"""PATCH bodies by content type, as the API server applies them: JSON merge patch (RFC 7386), JSON patch
(RFC 6902, through the jsonpatch library) and, for built-in kinds only, strategic merge patch."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from .errors import ApiError, bad_request

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# patchMergeKey of the list fields of the built-in kinds the fake serves (from their Go struct tags);
# a list not named here is replaced whole, as a list without a patch strategy is.
_MERGE_KEYS = {
    "ownerReferences": "uid",
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "resourceClaims": "name",
}
# Primitive lists with patchStrategy "merge": the patch's values are added to the existing ones.
_MERGED_PRIMITIVE_LISTS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _strategic_list(field: str, target: list[Any], patch: list[Any]) -> list[Any]:
    key = _MERGE_KEYS.get(field)
    if field in _MERGED_PRIMITIVE_LISTS:
        return target + [v for v in patch if v not in target]
    if key is None or not all(isinstance(item, dict) for item in target + patch):
        return [v for v in patch if not (isinstance(v, dict) and v.get("$patch") == "replace")]
    result = [copy.deepcopy(item) for item in target]
    for item in patch:
        directive = item.get("$patch")
        if directive == "replace":
            return [
                copy.deepcopy({k: v for k, v in i.items() if k != "$patch"})
                for i in patch
                if i.get("$patch") != "replace"
            ]
        position = next((i for i, existing in enumerate(result) if existing.get(key) == item.get(key)), None)
        if directive == "delete":
            if position is not None:
                del result[position]
        elif position is None:
            result.append(strategic_merge_patch({}, item))
        else:
            result[position] = strategic_merge_patch(result[position], item)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _strategic_list(key, result[key], value)
        elif isinstance(value, list):
            result[key] = _strategic_list(key, [], value)
        else:
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result


def apply_patch(content_type: str, target: dict[str, Any], raw: bytes, custom: bool) -> dict[str, Any]:
    """The object `target` becomes under the patch `raw`; raises ApiError as the API server answers."""
    media = content_type.split(";", 1)[0].strip().lower()
    accepted = [JSON_PATCH, MERGE_PATCH] + ([] if custom else [STRATEGIC_MERGE_PATCH]) + [APPLY_PATCH]
    if media not in (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH) or (
        custom and media == STRATEGIC_MERGE_PATCH
    ):
        if media == APPLY_PATCH:
            raise ApiError(415, "server-side apply is not modelled by the fake API server")
        raise ApiError(
            415,
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(accepted),
        )
    try:
        patch = json.loads(raw)
    except ValueError as error:
        raise bad_request(f"error decoding patch: {error}") from None
    if media == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        try:
            return jsonpatch.apply_patch(target, patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
            raise ApiError(422, str(error), "Invalid") from None
    if not isinstance(patch, dict):
        raise ApiError(
            422,
            f'"" is invalid: patch: Invalid value: {json.dumps(raw.decode(errors="replace"))}: couldn\'t get '
            "version/kind; json parse error: json: cannot unmarshal array into Go value of type struct",
            "Invalid",
        )
    if media == MERGE_PATCH:
        return merge_patch(target, patch)
    return strategic_merge_patch(target, patch)
