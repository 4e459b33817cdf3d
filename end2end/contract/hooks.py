"""Schemathesis hooks for the API contract test (../tests/api_contract.test.mjs).

Plan files travel as `application/toml`, a text format schemathesis has no
serializer for: the generated string goes on the wire as UTF-8 text.
"""
import schemathesis


@schemathesis.serializer("application/toml")
def toml_text(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")
