"""The house's seams: the check vocabulary is assembled explicitly, and every resource kind has one driver."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from tasks.aws.restore import base
from tasks.aws.restore.drivers import DRIVERS, driver_for
from tasks.catalog.runbook import ResourceKind
from tasks.evidence.findings import Check, CheckSet
from tasks.rules import impact, posture, restore_plan, review
from tasks.rules.checks import VOCABULARY


def test_a_check_id_means_the_same_whatever_was_imported_first():
    # A fresh interpreter that imports nothing but the vocabulary can make a restore finding (it used to raise
    # unless tasks.restore_plan had been imported by someone).
    code = (
        "from tasks.rules.checks import make_finding\n"
        "f = make_finding('restore.failed', service='s', tier=0, detail='d')\n"
        "print(f.severity, f.remediation[:10])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "critical"  # Tier 0 is one step above the check's Tier 1 severity


def test_the_vocabulary_is_the_union_of_each_rules_module_and_nothing_else():
    # Every rules module that defines checks, found on disk: a new one left out of rules/checks.py fails here.
    import importlib
    import pkgutil

    import tasks.rules

    modules = [
        module
        for info in pkgutil.iter_modules(tasks.rules.__path__)
        if isinstance(getattr(module := importlib.import_module(f"tasks.rules.{info.name}"), "CHECKS", None), CheckSet)
    ]
    assert {review, posture, restore_plan, impact} <= set(modules)
    assert set(VOCABULARY) == {check for module in modules for check in module.CHECKS}
    assert sum(len(module.CHECKS) for module in modules) == len(VOCABULARY)  # no id defined twice


def test_a_check_defined_twice_or_with_an_unknown_severity_is_refused():
    check = Check("x.y", "high", "t", "r")
    with pytest.raises(ValueError, match="defined twice"):
        CheckSet(check).union(CheckSet(check))
    with pytest.raises(ValueError, match="severity"):
        CheckSet(Check("x.z", "urgent", "t", "r"))
    with pytest.raises(KeyError, match="unknown check 'x.q'"):
        CheckSet(check).make("x.q", service="s", tier=1, detail="d")


def test_every_resource_kind_has_exactly_one_driver_satisfying_the_protocol():
    assert set(DRIVERS) == {kind.value for kind in ResourceKind}
    members = [name for name, _ in inspect.getmembers(base.RestoreDriver) if not name.startswith("_")]
    for kind, driver in DRIVERS.items():
        assert driver.KIND == kind and isinstance(driver.NAMED_COPY, bool)
        for name in members:
            assert hasattr(driver, name), f"{kind} driver lacks {name}"
        for name in ("recovery_point", "start", "state", "delete", "rpo_seconds"):
            protocol = inspect.signature(getattr(base.RestoreDriver, name))
            actual = inspect.signature(getattr(driver, name))
            assert list(actual.parameters) == list(protocol.parameters)[1:], f"{kind}.{name}{actual}"
    with pytest.raises(ValueError, match="no restore driver for resource kind 'tape'"):
        driver_for("tape")
