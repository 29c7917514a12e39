"""`make bench`'s phase selection: --only re-measures single figures; the default still runs every phase."""

from __future__ import annotations

import argparse

import pytest

from bench.run import PHASES, phases_arg


def test_only_takes_a_comma_separated_list_of_known_phases():
    assert phases_arg("demo") == ["demo"]
    assert phases_arg("restore, demo") == ["restore", "demo"]


@pytest.mark.parametrize("text", ["demos", "demo,nope", ","])
def test_only_refuses_unknown_phases_naming_the_known_ones(text):
    with pytest.raises(argparse.ArgumentTypeError, match="choose from restore, cli, audit, jira, dashboard, demo"):
        phases_arg(text)


def test_every_benchmark_is_a_phase():
    assert set(PHASES) == {"restore", "cli", "audit", "jira", "dashboard", "demo"}
