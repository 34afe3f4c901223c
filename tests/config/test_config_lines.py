"""Line numbers found for generated configs point at the key they name."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.config.lines import key_lines, line_of

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


TOML = """\
# comment
[state]
url = "sqlite://"

[[connectors]]
type = "memory"
name = "a"

[[connectors]]
type = "memory"
name = "b"
note = '''
fake = 1
'''
interval = "5m"

[connectors.extra]
deep = 1

[[rules.rule]]
type = "stale"
[[rules.rule]]
"type" = "no_activity"
days.value = 3
"""


def test_key_lines_track_tables_arrays_and_skip_multiline_strings() -> None:
    lines = key_lines(TOML)
    assert lines["state.url"] == 3
    assert lines["connectors[0]"] == 5
    assert lines["connectors[0].name"] == 7
    assert lines["connectors[1].name"] == 11
    assert "connectors[1].fake" not in lines
    assert lines["connectors[1].interval"] == 15
    assert lines["connectors[1].extra.deep"] == 18
    assert lines["rules.rule[1].type"] == 23
    assert lines["rules.rule[1].days.value"] == 24


def test_line_of_falls_back_to_reference_keys_and_parents() -> None:
    lines = key_lines('[salesforce]\nauth = "jwt"\nprivate_key_env = "K"\n')
    assert line_of("salesforce.private_key", lines) == 3
    assert line_of("salesforce.username", lines) == 1
    assert line_of("capture.x", lines) is None
