"""Line numbers found for generated configs point at the key they name."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.config.lines import key_lines

KEYS = st.sampled_from(["name", "interval", "type", "enabled", "days", "token_env", "x-y"])
VALUES = st.sampled_from(['"a"', "1", "true", '["p", "q"]', "{ k = 1 }", '"""\nz = 2\n"""'])
TABLE = st.dictionaries(KEYS, VALUES, max_size=4)


@settings(max_examples=60, deadline=None)
@given(
    top=TABLE,
    connectors=st.lists(TABLE, max_size=4),
    rules=st.lists(TABLE, max_size=3),
)
def test_every_key_is_found_on_its_own_line(
    top: dict[str, str], connectors: list[dict[str, str]], rules: list[dict[str, str]]
) -> None:
    out: list[str] = ["# generated"]
    expected: dict[str, str] = {}

    def emit(prefix: str, table: dict[str, str]) -> None:
        for key, value in table.items():
            expected[f"{prefix}.{key}"] = key
            out.append(f"{key} = {value}")

    out.append("[service]")
    emit("service", top)
    for index, table in enumerate(connectors):
        out.append("[[connectors]]")
        emit(f"connectors[{index}]", table)
    out.append("[rules]")
    for index, table in enumerate(rules):
        out.append("[[rules.rule]]")
        emit(f"rules.rule[{index}]", table)
    text = "\n".join(out) + "\n"
    tomllib.loads(text)  # the generated text is valid TOML
    lines = key_lines(text)
    source = text.splitlines()
    for path, key in expected.items():
        assert source[lines[path] - 1].startswith(f"{key} = "), path
    # Nothing inside a multi-line string is taken for a key.
    assert not any(p.endswith(".z") for p in lines)
