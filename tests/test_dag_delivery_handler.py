"""The DAG delivery handler swaps complete releases in atomically, keeps the previous one, refuses unsafe
archives and always answers CloudFormation. Real temp dirs stand in for the EFS mount, local zips for the asset."""

from __future__ import annotations

import json
import os
import stat
import time
import types
import zipfile
from pathlib import Path

import pytest

from constructs.data.dag_delivery import DAG_DELIVERY_HANDLER_DIR
from tests.handlers import load_handler

RELEASE_A = "a" * 64
RELEASE_B = "b" * 64
RELEASE_C = "c" * 64
DAGS_V1 = {"etl.py": "v1 etl", "reports/daily.py": "v1 daily", "reports/old.py": "v1 old", "README.md": "docs"}
# etl.py changed, reports/old.py deleted, reports/new.py added.
DAGS_V2 = {"etl.py": "v2 etl", "reports/daily.py": "v1 daily", "reports/new.py": "v2 new", "README.md": "docs"}


@pytest.fixture
def handler(monkeypatch):
    """The handler module, loaded from its file as Lambda loads it, with boto3 replaced (set per test)."""
    return load_handler(monkeypatch, DAG_DELIVERY_HANDLER_DIR, modules={"boto3": types.SimpleNamespace(client=_no_aws)})


def _no_aws(name):
    raise AssertionError(f"unexpected AWS client {name}")


@pytest.fixture
def mount(tmp_path) -> Path:
    root = tmp_path / "mnt" / "dags"
    root.mkdir(parents=True)
    return root


def _zip(path: Path, files: dict[str, str], *, executable: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100755 if name in executable else 0o100644) << 16
            archive.writestr(info, text)
    return path


def _tree(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def _deliver(handler, mount: Path, release_id: str, files: dict[str, str], tmp_path: Path):
    archive = _zip(tmp_path / f"{release_id[:8]}.zip", files)
    return handler.deliver(mount, release_id, lambda: archive)


def _releases(mount: Path) -> set[str]:
    return {entry.name for entry in (mount / "releases").iterdir()}


def test_first_delivery_points_current_at_a_complete_release(handler, mount, tmp_path) -> None:
    delivery = _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    current = mount / "current"
    assert current.is_symlink() and os.readlink(current) == f"releases/{RELEASE_A}"
    assert _tree(current) == DAGS_V1
    assert _releases(mount) == {RELEASE_A}
    assert (delivery.file_count, delivery.reused, delivery.previous_release) == (4, False, None)


def test_current_is_relative_so_it_resolves_wherever_the_volume_is_mounted(handler, mount, tmp_path) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    # Airflow mounts the access point at /opt/airflow/dags, not /mnt/dags.
    elsewhere = tmp_path / "opt" / "airflow" / "dags"
    elsewhere.parent.mkdir(parents=True)
    mount.rename(elsewhere)
    assert not os.path.isabs(os.readlink(elsewhere / "current"))
    assert _tree(elsewhere / "current") == DAGS_V1


def test_files_are_readable_by_the_airflow_group_only(handler, mount, tmp_path) -> None:
    archive = _zip(tmp_path / "dags.zip", {"etl.py": "x", "bin/run.sh": "#!/bin/sh"}, executable=("bin/run.sh",))
    handler.deliver(mount, RELEASE_A, lambda: archive)
    release = mount / "releases" / RELEASE_A
    mode = {p.relative_to(release).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in release.rglob("*")}
    assert mode == {"etl.py": 0o640, "bin": 0o750, "bin/run.sh": 0o750}
    assert stat.S_IMODE(release.stat().st_mode) == stat.S_IMODE(release.parent.stat().st_mode) == 0o750


def test_update_shows_exactly_the_new_set_of_files(handler, mount, tmp_path) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    delivery = _deliver(handler, mount, RELEASE_B, DAGS_V2, tmp_path)
    assert _tree(mount / "current") == DAGS_V2
    assert not (mount / "current" / "reports" / "old.py").exists()
    assert delivery.previous_release == RELEASE_A


def test_current_keeps_the_old_complete_release_while_the_new_one_is_written(
    handler, mount, tmp_path, monkeypatch
) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    extract = handler.extract_release
    seen = []

    def extract_and_check(archive_path: Path, destination: Path) -> int:
        def check() -> None:
            assert (mount / "current").resolve() == mount / "releases" / RELEASE_A
            assert _tree(mount / "current") == DAGS_V1
            assert not (mount / "releases" / RELEASE_B).exists()

        check()
        file_count = extract(archive_path, destination)
        # Written in full under a hidden temporary name, and still not what `current` shows.
        assert destination.parent == mount / "releases" and destination.name.startswith(".incoming-")
        assert _tree(destination) == DAGS_V2
        check()
        seen.append(destination)
        return file_count

    monkeypatch.setattr(handler, "extract_release", extract_and_check)
    _deliver(handler, mount, RELEASE_B, DAGS_V2, tmp_path)
    assert seen and not seen[0].exists()
    assert os.readlink(mount / "current") == f"releases/{RELEASE_B}"


def test_the_previous_release_is_kept_and_older_ones_pruned(handler, mount, tmp_path) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    _deliver(handler, mount, RELEASE_B, DAGS_V2, tmp_path)
    assert _releases(mount) == {RELEASE_A, RELEASE_B}
    delivery = _deliver(handler, mount, RELEASE_C, {"only.py": "v3"}, tmp_path)
    assert _releases(mount) == {RELEASE_B, RELEASE_C}
    assert delivery.removed == (RELEASE_A,)
    assert _tree(mount / "releases" / RELEASE_B) == DAGS_V2


def test_leftovers_of_interrupted_deliveries_are_removed(handler, mount, tmp_path) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    half_written = mount / "releases" / f".incoming-{RELEASE_B}-0123456789abcdef"
    (half_written / "reports").mkdir(parents=True)
    (half_written / "reports" / "daily.py").write_text("partial")
    os.symlink(f"releases/{RELEASE_A}", mount / ".current-0123456789abcdef")
    _deliver(handler, mount, RELEASE_C, {"only.py": "v3"}, tmp_path)
    assert _releases(mount) == {RELEASE_A, RELEASE_C}
    assert sorted(p.name for p in mount.iterdir()) == ["current", "releases"]


def test_a_redelivered_release_is_reused_and_nothing_is_pruned(handler, mount, tmp_path) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    _deliver(handler, mount, RELEASE_B, DAGS_V2, tmp_path)

    def no_download() -> Path:
        raise AssertionError("an existing release must not be downloaded again")

    delivery = handler.deliver(mount, RELEASE_B, no_download)
    assert (delivery.reused, delivery.file_count, delivery.removed) == (True, 4, ())
    assert _releases(mount) == {RELEASE_A, RELEASE_B}
    assert os.readlink(mount / "current") == f"releases/{RELEASE_B}"


def test_a_rollback_switches_back_to_the_kept_previous_release(handler, mount, tmp_path) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    _deliver(handler, mount, RELEASE_B, DAGS_V2, tmp_path)
    delivery = handler.deliver(mount, RELEASE_A, lambda: pytest.fail("kept release downloaded again"))
    assert delivery.reused and _tree(mount / "current") == DAGS_V1
    assert _releases(mount) == {RELEASE_A, RELEASE_B}


@pytest.mark.parametrize("member", ["../x.py", "reports/../../x.py", "/etc/cron.d/x", "./../x.py"])
def test_an_archive_escaping_its_release_fails_without_touching_current(handler, mount, tmp_path, member) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    archive = _zip(tmp_path / "evil.zip", {"etl.py": "ok", member: "escaped"})
    with pytest.raises(handler.UnsafeArchive, match="outside its release"):
        handler.deliver(mount, RELEASE_B, lambda: archive)
    assert os.readlink(mount / "current") == f"releases/{RELEASE_A}"
    assert _releases(mount) == {RELEASE_A}
    assert not (tmp_path / "x.py").exists() and not (mount / "x.py").exists()


def test_an_archive_with_a_symlink_member_is_refused(handler, mount, tmp_path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        info = zipfile.ZipInfo("secrets.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(info, "/etc/passwd")
    with pytest.raises(handler.UnsafeArchive, match="symlink"):
        handler.deliver(mount, RELEASE_A, lambda: archive)
    assert not (mount / "current").exists() and _releases(mount) == set()


def test_a_failed_extraction_leaves_no_temporary_directory(handler, mount, tmp_path, monkeypatch) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)

    def disk_full(release, executable):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(handler, "_set_modes", disk_full)
    with pytest.raises(OSError, match="No space left"):
        _deliver(handler, mount, RELEASE_B, DAGS_V2, tmp_path)
    assert _releases(mount) == {RELEASE_A}
    assert os.readlink(mount / "current") == f"releases/{RELEASE_A}"


@pytest.mark.parametrize("release_id", ["../escape", ".incoming-x", "a/b", ""])
def test_a_release_id_must_be_one_safe_path_component(handler, mount, release_id) -> None:
    with pytest.raises(ValueError, match="safe path component"):
        handler.deliver(mount, release_id, lambda: pytest.fail("fetched"))


def test_a_current_that_is_not_a_symlink_is_never_replaced(handler, mount, tmp_path) -> None:
    (mount / "current").mkdir()
    (mount / "current" / "hand_copied.py").write_text("x")
    with pytest.raises(RuntimeError, match="not a symlink"):
        _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    assert _tree(mount / "current") == {"hand_copied.py": "x"}
    assert sorted(p.name for p in mount.iterdir()) == ["current"]


# The handler: what CloudFormation sees.

CONTEXT = types.SimpleNamespace(log_stream_name="stream", get_remaining_time_in_millis=lambda: 300_000)


def _event(request_type: str, mount: Path, release_id: str = RELEASE_A) -> dict:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://example.invalid/cfn",
        "StackId": "stack",
        "RequestId": "req",
        "LogicalResourceId": "DagsRelease",
        "ResourceProperties": {
            "AssetBucket": "assets-bucket",
            "AssetKey": f"{release_id}.zip",
            "MountPath": str(mount),
            "ReleaseId": release_id,
        },
    }


@pytest.fixture
def responses(handler, monkeypatch) -> list[dict]:
    sent = []
    monkeypatch.setattr(handler, "_put_response", lambda event, status, reason: sent.append((status, reason)))
    return sent


def _serve_from_s3(handler, monkeypatch, objects: dict[tuple[str, str], Path]) -> list:
    downloads = []

    def download_file(bucket, key, filename):
        downloads.append((bucket, key))
        Path(filename).write_bytes(objects[(bucket, key)].read_bytes())

    monkeypatch.setattr(
        handler, "boto3", types.SimpleNamespace(client=lambda name: types.SimpleNamespace(download_file=download_file))
    )
    return downloads


def test_create_downloads_the_asset_and_logs_counts_never_contents(
    handler, mount, tmp_path, responses, monkeypatch, capsys
) -> None:
    archive = _zip(tmp_path / "dags.zip", {"etl.py": "SECRET_LOOKING_CONTENT = 1"})
    downloads = _serve_from_s3(handler, monkeypatch, {("assets-bucket", f"{RELEASE_A}.zip"): archive})
    handler.handler(_event("Create", mount), CONTEXT)
    assert responses == [("SUCCESS", "See CloudWatch log stream stream")]
    assert downloads == [("assets-bucket", f"{RELEASE_A}.zip")]
    assert _tree(mount / "current") == {"etl.py": "SECRET_LOOKING_CONTENT = 1"}
    logged = capsys.readouterr().out
    assert json.loads(logged) == {"release": RELEASE_A, "files": 1, "reused": False, "previous": None, "removed": []}
    assert "SECRET_LOOKING_CONTENT" not in logged


def test_delete_leaves_the_files_alone(handler, mount, tmp_path, responses) -> None:
    _deliver(handler, mount, RELEASE_A, DAGS_V1, tmp_path)
    before = _tree(mount)
    handler.handler(_event("Delete", mount), CONTEXT)
    assert responses == [("SUCCESS", "See CloudWatch log stream stream")]
    assert _tree(mount) == before and os.readlink(mount / "current") == f"releases/{RELEASE_A}"


def test_an_unsafe_archive_is_reported_failed(handler, mount, tmp_path, responses, monkeypatch) -> None:
    archive = _zip(tmp_path / "evil.zip", {"../x.py": "escaped"})
    _serve_from_s3(handler, monkeypatch, {("assets-bucket", f"{RELEASE_A}.zip"): archive})
    handler.handler(_event("Update", mount), CONTEXT)
    ((status, reason),) = responses
    assert status == "FAILED" and reason.startswith("UnsafeArchive:") and "../x.py" in reason


def test_any_error_is_reported_failed(handler, tmp_path, responses) -> None:
    handler.handler(_event("Create", tmp_path / "not-mounted"), CONTEXT)
    ((status, reason),) = responses
    assert status == "FAILED" and "FileNotFoundError" in reason and "mounted" in reason


def test_a_delivery_that_outlives_the_function_is_reported_failed_once(handler, mount, responses, monkeypatch) -> None:
    def slow_deliver(root, release_id, fetch_archive):
        time.sleep(0.5)
        return handler.Delivery(release_id=release_id, file_count=1, reused=False, previous_release=None, removed=())

    monkeypatch.setattr(handler, "deliver", slow_deliver)
    # 50 ms left before the handler's safety margin.
    almost_out_of_time = types.SimpleNamespace(
        log_stream_name="stream",
        get_remaining_time_in_millis=lambda: handler.TIMEOUT_MARGIN_SECONDS * 1000 + 50,
    )
    handler.handler(_event("Update", mount), almost_out_of_time)
    # The late success is not sent: CloudFormation already has its answer.
    ((status, reason),) = responses
    assert status == "FAILED" and "timeout" in reason
