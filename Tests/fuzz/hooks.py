"""Schemathesis hooks for Hotpot's API fuzz run (loaded by Tests/fuzz/schemathesis.sh).

Destructive operations stay in the run, but they may only destroy what the run itself created:

* DELETE /v1/keys/{prefix} and DELETE /v1/admin/keys/{prefix} would revoke the key the run is using
  (or the keys of the other roles' runs, or another test's keys);
* DELETE /v1/admin/tenants/{slug} would delete the fuzz tenant (or, on a shared test database, another
  test's tenant), and POST /v1/admin/tenants/{slug}/keys would add keys to another test's tenant (the
  run's own tenant, HOTPOT_FUZZ_TENANT, is fair game).

Generated values that name nothing pass through untouched (they are 404s the run should see). A value
that names an existing key or tenant the run did not create -- one given in HOTPOT_FUZZ_PROTECT_KEYS or
HOTPOT_FUZZ_PROTECT_TENANTS (comma-separated), or one the run learned from a response, e.g. a stateful
step that lists keys and then deletes one -- is swapped for a well-formed name that does not exist, so
the request still goes out and must answer 404 as documented.

A dashboard's filters and a metric's parameters are free-form `name=value` query parameters in the
document (their names depend on the dashboard or metric), so generated names are nearly always unknown
and refused before any value is read. With HOTPOT_FUZZ_BASE and a key that can read the catalog, the run
looks the real names and types up once (GET /v1/metrics, GET /v1/dashboards/{id}) and then: renames
most generated free-form parameters to real ones; sends three quarters of the schema-valid metric names
and dashboard ids to ones that exist; swaps half of the (schema-valid, string) values for an edge case
of the parameter's type (dates and offsets at the ends of 64-bit arithmetic and of the calendar, numbers
that do not fit, NaN, NUL characters); and adds one such parameter to half of the requests that have
none. So generated requests reach the parsing behind the names. Every choice is a function of the
generated case, so a failing case replays and shrinks the same way.

When HOTPOT_FUZZ_LEDGER names a file, the run writes there (as JSON, at exit) how many requests it
sent by status code and which tenants and keys it created, so its caller can clean up after it.
"""

import atexit
import collections
import json
import os
import re
import threading
import zlib

import schemathesis

PROTECTED_KEYS = {v for v in os.environ.get("HOTPOT_FUZZ_PROTECT_KEYS", "").split(",") if v}
# The key the run uses (hp_<prefix>_<secret>) is never revoked either.
_OWN_KEY = os.environ.get("HOTPOT_FUZZ_KEY", "").split("_")
if len(_OWN_KEY) == 3 and _OWN_KEY[0] == "hp":
    PROTECTED_KEYS.add(_OWN_KEY[1])
PROTECTED_TENANTS = {v for v in os.environ.get("HOTPOT_FUZZ_PROTECT_TENANTS", "").split(",") if v}
# The run's own tenant: the global admin may add keys to it (and to tenants it created), to no other.
OWN_TENANT = os.environ.get("HOTPOT_FUZZ_TENANT", "")

# What this run created (it may destroy those) and what it saw in responses (it may not).
CREATED_KEYS: set = set()
CREATED_TENANTS: set = set()
SEEN_KEYS: set = set()
SEEN_TENANTS: set = set()

# Well-formed names that exist nowhere: 10 characters like a real prefix, a slug of the declared pattern.
ABSENT_KEY = "fuzzAbsent"
ABSENT_TENANT = "fuzz-absent-tenant"

REQUESTS: collections.Counter = collections.Counter()

DESTRUCTIVE = {
    ("DELETE", "/v1/keys/{prefix}"): ("prefix", "key"),
    ("DELETE", "/v1/admin/keys/{prefix}"): ("prefix", "key"),
    ("DELETE", "/v1/admin/tenants/{slug}"): ("slug", "tenant"),
    # Not destructive, but a key added to another test's tenant would show in that test's key lists.
    ("POST", "/v1/admin/tenants/{slug}/keys"): ("slug", "foreign-tenant"),
}


def _protected(kind, value):
    if kind == "key":
        return value not in CREATED_KEYS and (value in PROTECTED_KEYS or value in SEEN_KEYS)
    if kind == "foreign-tenant" and value == OWN_TENANT:
        return False
    return value not in CREATED_TENANTS and (value in PROTECTED_TENANTS or value in SEEN_TENANTS)


# --- Free-form parameters: the catalog's real names ----------------------------------------------------

FREE_FORM = {
    # path: (path parameter, kind, reserved query names)
    "/v1/metrics/{name}/data": ("name", "metric", {"format", "version"}),
    "/v1/dashboards/{id}/data": ("id", "dashboard", {"format", "panel"}),
}
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_catalog = None
_catalog_lock = threading.Lock()


EDGES = {
    "date": ["+9223372036854775807d", "-9223372036854775807w", "+768614336404564650m", "-3660001d", "+3660000d",
             "-120000m", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "2026-02-29", "2024-02-29",
             "-0d", "today", "yesterday"],
    "timestamp": ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z",
                  "2026-01-01T00:00:00+14:00", "2026-01-01T00:00:00-99:00", "2026-01-01", "+9223372036854775807d"],
    "int": ["9223372036854775807", "-9223372036854775808", "9223372036854775808", "0", "-1", "+1", "01", "1e3"],
    "float": ["NaN", "Infinity", "-Infinity", "1e308", "1e309", "-0", "5e-324", "0x1p3"],
    "bool": ["true", "TRUE", "1", "0", "yes", ""],
    "text": ["\u0000", "a\u0000b", "%", "'", "\"", "\\", "a,b", "feed"],
}
EDGES["int[]"] = EDGES["int"] + ["1,,2", "9223372036854775807,9223372036854775807", "," * 50]
EDGES["text[]"] = EDGES["text"] + ["a,\u0000", "," * 50]


def _load_catalog():
    """{("metric", name): {parameter: type}, ("dashboard", id): {filter: type}}, or {} without access."""
    base, key = os.environ.get("HOTPOT_FUZZ_BASE", "").rstrip("/"), os.environ.get("HOTPOT_FUZZ_KEY", "")
    found = {}
    if not base or not key:
        return found
    import requests

    headers = {"Authorization": f"Bearer {key}"}
    try:
        response = requests.get(f"{base}/v1/metrics", headers=headers, timeout=30)
        if response.status_code == 200:
            for metric in response.json().get("metrics", []):
                found[("metric", metric["name"])] = {p["name"]: p.get("type", "text") for p in metric.get("params", [])}
        response = requests.get(f"{base}/v1/dashboards", headers=headers, timeout=30)
        if response.status_code == 200:
            for summary in response.json().get("dashboards", []):
                detail = requests.get(f"{base}/v1/dashboards/{summary['id']}", headers=headers, timeout=30)
                if detail.status_code == 200:
                    filters = detail.json().get("dashboard", {}).get("filters", [])
                    found[("dashboard", summary["id"])] = {f["name"]: f.get("type", "text") for f in filters}
    except Exception:
        pass
    return found


def _names():
    global _catalog
    with _catalog_lock:
        if _catalog is None:
            _catalog = _load_catalog()
        return _catalog


def _pick(options, text):
    # Deterministic in the generated value, so a failing case replays and shrinks the same way.
    return options[zlib.crc32(text.encode("utf-8", "surrogatepass")) % len(options)]


@schemathesis.hook
def map_case(context, case):
    target = FREE_FORM.get(case.operation.path)
    if target is None or not isinstance(case.path_parameters, dict):
        return case
    parameter, kind, reserved = target
    catalog = _names()
    known = sorted(ident for (k, ident) in catalog if k == kind)
    ident = case.path_parameters.get(parameter)
    if not known or not isinstance(ident, str):
        return case
    # Only schema-valid names are swapped, so a case meant to be invalid stays invalid.
    if (kind, ident) not in catalog and NAME_PATTERN.match(ident) and zlib.crc32(ident.encode()) % 4 != 0:
        ident = _pick(known, ident)
        case.path_parameters[parameter] = ident
    types = catalog.get((kind, ident))
    if not types or not isinstance(case.query, dict):
        return case
    names = sorted(types)
    renamed = {}
    for name, value in case.query.items():
        if name in reserved or name in types or zlib.crc32(str(name).encode("utf-8", "surrogatepass")) % 8 == 0:
            renamed[name] = value
            continue
        target = _pick(names, str(name))
        # Only a schema-valid value (a string) is swapped, for one just as valid: the case's mode holds.
        if isinstance(value, str) and zlib.crc32(value.encode("utf-8", "surrogatepass")) % 2 == 0:
            value = _pick(EDGES.get(types[target], EDGES["text"]), value + target)
        renamed.setdefault(target, value)
    # Schema-valid requests mostly leave the optional free-form parameters out: add one, edge-valued.
    seed = ident + repr(sorted(renamed.items(), key=repr)) + repr(sorted((case.headers or {}).items(), key=repr))
    if not any(name in types for name in renamed) and zlib.crc32(seed.encode("utf-8", "surrogatepass")) % 2 == 0:
        target = _pick(names, seed)
        renamed[target] = _pick(EDGES.get(types[target], EDGES["text"]), target + seed)
    case.query = renamed
    return case


# --- Destructive operations ----------------------------------------------------------------------------

@schemathesis.hook
def before_call(context, case, kwargs):
    target = DESTRUCTIVE.get((case.method.upper(), case.operation.path))
    if target is None or not case.path_parameters:
        return
    name, kind = target
    value = case.path_parameters.get(name)
    if isinstance(value, str) and _protected(kind, value):
        case.path_parameters[name] = ABSENT_KEY if kind == "key" else ABSENT_TENANT


def _json(response):
    try:
        return response.json()
    except Exception:
        return None


@schemathesis.hook
def after_call(context, case, response):
    REQUESTS[str(response.status_code)] += 1
    body = _json(response)
    if not isinstance(body, dict):
        return
    method, path, status = case.method.upper(), case.operation.path, response.status_code
    if method == "POST" and status == 201 and path in ("/v1/keys", "/v1/admin/tenants/{slug}/keys"):
        if isinstance(body.get("prefix"), str):
            CREATED_KEYS.add(body["prefix"])
        return
    if method == "POST" and status == 201 and path == "/v1/admin/tenants":
        if isinstance(body.get("slug"), str):
            CREATED_TENANTS.add(body["slug"])
        return
    for key in body.get("keys") or []:
        if isinstance(key, dict):
            if isinstance(key.get("prefix"), str):
                SEEN_KEYS.add(key["prefix"])
            if isinstance(key.get("tenant"), str):
                SEEN_TENANTS.add(key["tenant"])
    for tenant in body.get("tenants") or []:
        if isinstance(tenant, dict) and isinstance(tenant.get("slug"), str):
            SEEN_TENANTS.add(tenant["slug"])
    if isinstance(body.get("slug"), str) and path in ("/v1/tenant", "/v1/admin/tenants/{slug}"):
        SEEN_TENANTS.add(body["slug"])


def _write_ledger():
    path = os.environ.get("HOTPOT_FUZZ_LEDGER")
    if not path:
        return
    with open(path, "w") as file:
        json.dump({
            "requests": sum(REQUESTS.values()),
            "statuses": dict(sorted(REQUESTS.items())),
            "created_tenants": sorted(CREATED_TENANTS),
            "created_keys": sorted(CREATED_KEYS),
        }, file, indent=2)


atexit.register(_write_ledger)
