"""The Python OpenFeature SDK (openfeature-sdk 0.10.0) with its OFREP provider
(openfeature-provider-ofrep 0.3.0) against the console, as a Python
application would use it. ofrep.test.mjs runs it and checks what it prints:
one JSON object with each evaluation's value, variant, reason and error.

    ofrep_client.py BASE_URL TOKEN ENTITY LIMITED_TOKEN
"""
import json
import sys
import time

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

base, token, entity, limited_token = sys.argv[1:5]


def client(secret):
    # A named provider per token: each has its own rate-limit pause.
    name = secret[-8:]
    api.set_provider(
        OFREPProvider(base, headers_factory=lambda: {"Authorization": f"Bearer {secret}"}, timeout=5.0),
        domain=name,
    )
    return api.get_client(domain=name)


def shown(d):
    return {
        "value": d.value,
        "variant": d.variant,
        "reason": str(d.reason.value if hasattr(d.reason, "value") else d.reason) if d.reason else None,
        "error": d.error_code.value if d.error_code else None,
        "message": d.error_message,
        "metadata": dict(d.flag_metadata or {}),
    }


c = client(token)
ctx = EvaluationContext(entity, {"plan": "premium"})
out = {
    "boolean": shown(c.get_boolean_details("new_checkout", False, ctx)),
    "string": shown(c.get_string_details("theme", "default", ctx)),
    "integer": shown(c.get_integer_details("columns", 0, ctx)),
    "float": shown(c.get_float_details("discount_ratio", 0.0, ctx)),
    "object": shown(c.get_object_details("layout", {}, ctx)),
    "not_found": shown(c.get_boolean_details("no_such_flag", False, ctx)),
    "no_targeting_key": shown(c.get_boolean_details("new_checkout", False, EvaluationContext())),
}
# Over the rate limit: the provider pauses as Retry-After says, then is served.
limited = client(limited_token)
refused = None
for _ in range(200):
    d = limited.get_boolean_details("new_checkout", False, ctx)
    if d.error_code is not None:
        refused = shown(d)
        break
out["limited"] = refused
time.sleep(1.2)
out["after_retry_after"] = shown(limited.get_boolean_details("new_checkout", False, ctx))
print(json.dumps(out))
