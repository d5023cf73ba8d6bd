"""The `hostile` simulation option: a FHIR server that attacks or confuses its client.

Each function takes what an honest search would answer and spoils it one way
(`sandbox.simulation.HostileRule`, documented in docs/sandbox.md):

- `next_url`: the `next` link points at another origin (`foreign`: the same URL on another
  loopback address, 127.0.0.2, so a test can listen there; a made-up host when the sandbox is
  not on loopback) or at another path of the same origin (`other_path`: `/other/fhir`);
- `other_patient`: a patient-compartment search also carries another patient's resources;
- `spoil_numbers`: every other quantity is NaN or Infinity (Python's json writes both);
- `junk`: `link[]` and `entry[].search` hold non-objects;
- `pad`: the Bundle grows to at least `pad_bytes` (a long `meta.tag` display).

Pure functions over dicts; the views in `sandbox.fhir_api` apply them.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sandbox.fhir_search import Resource
from sandbox.simulation import HostileRule

FOREIGN_HOST = "ehr.attacker.example"
OTHER_PATH = "/other/fhir"
OTHER_PATIENTS = ("pat-02", "pat-03")  # whose records leak in (the first that is not the one asked)
LEAKED_PER_PAGE = 3
PADDING_SYSTEM = "urn:sandbox:padding"


def foreign_host(host: str) -> str:
    """Another origin for `host`: another loopback address when it is one, else a made-up
    host."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or (address is not None and address.is_loopback):
        return "127.0.0.3" if host == "127.0.0.2" else "127.0.0.2"
    return FOREIGN_HOST


def next_url(rule: HostileRule, url: str) -> str:
    """The `next` link as the hostile EHR writes it."""
    parts = urlsplit(url)
    if rule.next_link == "foreign":
        host = foreign_host(parts.hostname or "")
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    if rule.next_link == "other_path":
        return urlunsplit((parts.scheme, parts.netloc, OTHER_PATH, parts.query, ""))
    return url


def other_patient(patient: str) -> str:
    return next(other for other in OTHER_PATIENTS if other != patient)


def leaked(
    search: Callable[[str, list[tuple[str, str]]], list[Resource]],
    resource_type: str,
    patient: str,
) -> list[Resource]:
    """A few of another patient's resources of this type, to slip into a compartment search."""
    key = "_id" if resource_type == "Patient" else "patient"
    return search(resource_type, [(key, other_patient(patient))])[:LEAKED_PER_PAGE]


def _spoil_quantity(holder: dict[str, Any], value: float) -> None:
    quantity = holder.get("valueQuantity")
    if isinstance(quantity, dict) and "value" in quantity:
        quantity["value"] = value


def spoil_numbers(resources: list[Resource]) -> list[Resource]:
    """Every other resource with a quantity gets NaN or Infinity instead (copies)."""
    spoiled, seen = [], 0
    for resource in resources:
        quantities = "valueQuantity" in resource or "component" in resource
        if quantities and seen % 2 == 0:
            resource = copy.deepcopy(resource)
            value = float("nan") if seen % 4 == 0 else float("inf")
            _spoil_quantity(resource, value)
            for component in resource.get("component") or []:
                _spoil_quantity(component, value)
        seen += quantities
        spoiled.append(resource)
    return spoiled


def junk(bundle: dict[str, Any]) -> dict[str, Any]:
    """`link[]` and `entry[].search` with non-objects in them."""
    bundle["link"] = ["next", 42, None, ["relation", "next"], *bundle["link"]]
    for index, entry in enumerate(bundle["entry"]):
        entry["search"] = ("match", ["include"], 7)[index % 3]
    return bundle


def pad(bundle: dict[str, Any], size: int) -> dict[str, Any]:
    """The Bundle, at least `size` bytes of JSON."""
    if size <= 0:
        return bundle
    missing = size - len(json.dumps(bundle))
    if missing > 0:
        tag = {"system": PADDING_SYSTEM, "display": "x" * missing}
        bundle["meta"] = {"tag": [tag]}
    return bundle
