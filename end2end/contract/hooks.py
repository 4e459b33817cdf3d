"""Schemathesis hooks for the API contract test (../tests/api_contract.test.mjs).

Plan files travel as `application/toml`, a text format schemathesis has no
serializer for: the generated string goes on the wire as UTF-8 text.

A plan file's validity (TOML, then the plan rules) is more than a JSON
Schema can say, so the OpenAPI document marks the TOML bodies with the
string format `plan-toml`, and `plan_files` below is what a valid one looks
like: a plan with a name, a flag key and one to four phases in the console's
environments, some with a gate. Schema-valid bodies are then real plans the
console must accept (a name or flag already taken answers 409, as
documented); negative testing still sends what is not a string.
"""
import schemathesis
from hypothesis import strategies as st

ENVIRONMENTS = ["dev", "staging", "production"]


@schemathesis.serializer("application/toml")
def toml_text(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


@st.composite
def plan_files(draw):
    name = draw(st.from_regex(r"[A-Z][a-z]{2,12}( [a-z0-9]{1,8}){0,2}", fullmatch=True))
    flag = draw(st.from_regex(r"[a-z][a-z0-9_.-]{2,30}", fullmatch=True))
    phases = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ENVIRONMENTS),
                st.integers(min_value=0, max_value=10_000),
                st.none() | st.integers(min_value=0, max_value=3),
            ),
            min_size=1,
            max_size=4,
        )
    )
    lines = ["[plan]", f'name = "{name}"', f'flag = "{flag}"']
    for i, (environment, exposure, approvals) in enumerate(phases):
        lines += ["", "[[phases]]", f'name = "phase {i + 1}"', f'environment = "{environment}"', f"exposure_bp = {exposure}"]
        if approvals is not None:
            lines += ["[phases.gate]", f"approvals = {approvals}"]
    return "\n".join(lines) + "\n"


schemathesis.openapi.format("plan-toml", plan_files())
