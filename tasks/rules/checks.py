"""The whole check vocabulary, assembled explicitly from each rules module's `CHECKS`.

Anything outside the rules layer that makes or explains a finding (flows, trackers, reports, tests) uses
this module, so a check id means the same whatever was imported first.
"""

from __future__ import annotations

from tasks.rules import drills, impact, posture, restore_plan, review, vaults

VOCABULARY = review.CHECKS.union(posture.CHECKS, restore_plan.CHECKS, impact.CHECKS, drills.CHECKS, vaults.CHECKS)

make_finding = VOCABULARY.make
severity_for = VOCABULARY.severity_for
