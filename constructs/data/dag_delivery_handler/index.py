"""CloudFormation custom resource: puts the repo's dags/ (a CDK asset zip) onto the DAG file system.

Layout under the mount (the data layer's `/dags` access point; Airflow reads `<mount>/current`):

    releases/<release id>/...      complete copies of dags/, one per asset hash
    current -> releases/<id>       a relative symlink, so it resolves wherever the volume is mounted

A release is extracted under a hidden temporary name and renamed once complete, and `current` is swapped by
renaming a fresh symlink over it: Airflow sees the previous release or the new one, never a partial one. The new
and the previous releases are kept (a task that started just before the swap may still read the previous one);
older releases and temporary leftovers are removed. Delete leaves the files alone: the file system's removal
policy decides their fate. The function logs what it did (release id, file count), never a file's content.
"""

import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import threading
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import boto3

RELEASES_DIR = "releases"
CURRENT_LINK = "current"
# Hidden names: Airflow never scans them, and a leftover is recognisable as one.
INCOMING_PREFIX = ".incoming-"
LINK_PREFIX = ".current-"
# A release id names a directory: one safe path component (CDK's asset hash is 64 hex digits).
RELEASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
# The access point makes every file owned by uid 50000 gid 0; group read covers images running with another
# uid in group 0. Nothing else needs access.
DIRECTORY_MODE = 0o750
FILE_MODE = 0o640
EXECUTABLE_FILE_MODE = 0o750
# Report FAILED this long before Lambda's timeout: a function that never answers holds the stack for an hour.
TIMEOUT_MARGIN_SECONDS = 15
# CloudFormation rejects a response body over 4096 bytes; the reason is the only part that can grow.
MAX_REASON_LENGTH = 1024


class UnsafeArchive(ValueError):
    """The archive has a member that would land outside its release directory."""


@dataclass(frozen=True)
class Delivery:
    release_id: str
    file_count: int
    # The release directory already existed (a retried deploy or a rollback) and was used as it is.
    reused: bool
    previous_release: str | None
    removed: tuple[str, ...]


def validate_archive(archive: zipfile.ZipFile) -> None:
    for member in archive.infolist():
        name = member.filename
        if name.startswith("/") or ".." in PurePosixPath(name).parts:
            raise UnsafeArchive(f"archive member {name!r} would be written outside its release directory")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UnsafeArchive(f"archive member {name!r} is a symlink, which could point outside its release")


def extract_release(archive_path: Path, destination: Path) -> int:
    """Extract the validated archive into `destination` (which must not exist) and return its file count."""
    with zipfile.ZipFile(archive_path) as archive:
        validate_archive(archive)
        destination.mkdir()
        archive.extractall(destination)
        executable = {
            PurePosixPath(m.filename) for m in archive.infolist() if not m.is_dir() and (m.external_attr >> 16) & 0o111
        }
    return _set_modes(destination, executable)


def _set_modes(release: Path, executable: set[PurePosixPath]) -> int:
    """zipfile applies the umask, not the archive's modes: set them explicitly. Returns the file count."""
    files = 0
    for directory, _, names in os.walk(release):
        os.chmod(directory, DIRECTORY_MODE)
        for name in names:
            path = Path(directory, name)
            is_executable = PurePosixPath(path.relative_to(release).as_posix()) in executable
            os.chmod(path, EXECUTABLE_FILE_MODE if is_executable else FILE_MODE)
            files += 1
    return files


def _count_files(release: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(release))


def current_release(root: Path) -> str | None:
    """The release `current` points at, or None before the first delivery."""
    link = root / CURRENT_LINK
    if not link.is_symlink():
        if link.exists():
            raise RuntimeError(f"{link} exists and is not a symlink; refusing to replace it")
        return None
    parts = PurePosixPath(os.readlink(link)).parts
    return parts[1] if len(parts) == 2 and parts[0] == RELEASES_DIR else None


def _point_current_at(root: Path, release_id: str) -> None:
    # rename(2) replaces the old link in one step, on EFS as on a local disk: there is always a `current`.
    temporary = root / f"{LINK_PREFIX}{secrets.token_hex(8)}"
    os.symlink(f"{RELEASES_DIR}/{release_id}", temporary)
    os.replace(temporary, root / CURRENT_LINK)


def _prune(root: Path, keep: set[str]) -> tuple[str, ...]:
    """Remove every release not in `keep`, unfinished extractions and temporary links."""
    removed = []
    for entry in sorted((root / RELEASES_DIR).iterdir()):
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(entry.name)
    for leftover in sorted(root.glob(f"{LINK_PREFIX}*")):
        leftover.unlink()
        removed.append(leftover.name)
    return tuple(removed)


def deliver(root: Path, release_id: str, fetch_archive: Callable[[], Path]) -> Delivery:
    """Make `root/current` show the release `release_id`, fetching and extracting it unless it exists already."""
    if not RELEASE_ID.fullmatch(release_id):
        raise ValueError(f"release id {release_id!r} is not a single safe path component")
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory; is the file system mounted?")
    previous = current_release(root)
    releases = root / RELEASES_DIR
    releases.mkdir(exist_ok=True)
    os.chmod(releases, DIRECTORY_MODE)

    release = releases / release_id
    # Only a complete extraction is ever renamed to a release's name, so an existing one can be used as it is.
    reused = release.is_dir()
    if reused:
        file_count = _count_files(release)
    else:
        incoming = releases / f"{INCOMING_PREFIX}{release_id}-{secrets.token_hex(8)}"
        try:
            file_count = extract_release(fetch_archive(), incoming)
        except Exception:
            shutil.rmtree(incoming, ignore_errors=True)
            raise
        os.rename(incoming, release)
    _point_current_at(root, release_id)

    if previous == release_id:
        # Nothing switched (a retried or properties-only update): the last switch already chose what to keep.
        keep = {entry.name for entry in releases.iterdir() if not entry.name.startswith(".")}
    else:
        keep = {release_id} | ({previous} if previous else set())
    removed = _prune(root, keep)
    return Delivery(
        release_id=release_id, file_count=file_count, reused=reused, previous_release=previous, removed=removed
    )


def _download(bucket: str, key: str, directory: Path) -> Path:
    path = directory / "dags.zip"
    boto3.client("s3").download_file(bucket, key, str(path))
    return path


def _put_response(event, status, reason):
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": {},
        }
    ).encode("utf-8")
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"content-type": "", "content-length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - CloudFormation's presigned URL
        response.read()


class _Response:
    """Sends CloudFormation exactly one response, whether the work or the timeout watchdog finishes first."""

    def __init__(self, event, context):
        self._event = event
        self._context = context
        self._lock = threading.Lock()
        self._sent = False

    def send(self, status, reason=""):
        reason = (reason or f"See CloudWatch log stream {self._context.log_stream_name}")[:MAX_REASON_LENGTH]
        with self._lock:
            if not self._sent:
                _put_response(self._event, status, reason)
                self._sent = True


def handler(event, context):
    response = _Response(event, context)
    seconds_left = context.get_remaining_time_in_millis() / 1000 - TIMEOUT_MARGIN_SECONDS
    watchdog = threading.Timer(
        max(seconds_left, 0), response.send, ("FAILED", "DAG delivery did not finish before the function's timeout")
    )
    watchdog.daemon = True
    watchdog.start()
    try:
        if event["RequestType"] == "Delete":
            print("delete: DAG files left in place; the file system's removal policy decides what happens to them")
        else:
            properties = event["ResourceProperties"]
            with tempfile.TemporaryDirectory() as workdir:
                delivery = deliver(
                    Path(properties["MountPath"]),
                    properties["ReleaseId"],
                    lambda: _download(properties["AssetBucket"], properties["AssetKey"], Path(workdir)),
                )
            print(
                json.dumps(
                    {
                        "release": delivery.release_id,
                        "files": delivery.file_count,
                        "reused": delivery.reused,
                        "previous": delivery.previous_release,
                        "removed": list(delivery.removed),
                    }
                )
            )
        response.send("SUCCESS")
    except Exception as err:  # noqa: BLE001 - any failure must reach CloudFormation or the stack hangs for an hour
        print(f"failed: {type(err).__name__}: {err}")
        response.send("FAILED", f"{type(err).__name__}: {err}")
    finally:
        watchdog.cancel()
