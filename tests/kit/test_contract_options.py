"""The README's list of the contract kit's options is the documentation under test: it names
every flag of `dumpling-contract`, and the bounds' defaults it states are the code's."""

from __future__ import annotations

import re

from conftest import ROOT

from contract_tests import cli, options
from mock_server.server.body_limits import MAX_RESPONSE_BYTES


def kit_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text[text.index("## The contract kit") : text.index("## Verify your client")]


def test_the_readme_lists_every_kit_option() -> None:
    listed = set(re.findall(r"`(--[a-z-]+)", kit_section()[kit_section().index("Options:") :].split("\n\n")[0]))
    flags = {
        flag
        for action in cli.parser()._actions
        for flag in action.option_strings
        if flag.startswith("--") and flag != "--help"
    }
    assert flags - {"--verbose", "--base-url", "--api-key"} <= listed  # those two have their own table above


def test_the_readme_states_the_bounds_the_code_keeps() -> None:
    section = kit_section()
    assert f"`--timeout S` (default {options.DEFAULT_TIMEOUT_S:g}" in section
    assert f"`--max-time S` (default {options.DEFAULT_MAX_TIME_S:g}" in section
    assert MAX_RESPONSE_BYTES == 8 * 1024 * 1024 and "over 8 MiB (after decompression)" in section
