"""Snapshots of every stack's template, asset hashes masked.

A snapshot proves nothing by itself (the other tests assert the properties that matter); it makes every
template change visible in review. Read a snapshot diff as a user reads `cdk diff`.
Update with `scripts/test.sh --snapshot-update`.
"""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.synth import Synthesized

ASSET_HASH = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


def masked(template: dict) -> dict:
    """Asset hashes change with any byte of a bundled handler; mask them so diffs show what a deploy changes."""
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


def test_template_snapshots(synthesized: Synthesized, snapshot_json) -> None:
    """One snapshot per stack the app builds: a new stack gets its snapshot without editing this test."""
    for stack_name in synthesized.stack_names:
        assert masked(synthesized.templates[stack_name]) == snapshot_json(name=stack_name)
