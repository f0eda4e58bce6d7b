"""The measurement history: one SQLite file in the user data dir.

Every smoke test (and every chat answer's speed) is a row tied to the machine
fingerprint, the model file and the exact settings. The ranking asks it for a
measured generation speed in place of its estimate.
"""

import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from picker.cachefiles import set_aside
from picker.errors import RuntimeFailureError
from picker.history.digest import write_digest
from picker.history.fingerprint import (
    MachineFingerprint,
    ModelFile,
    settings_key,
    sha256_of_file,
)
from picker.paths import HISTORY_DATABASE_NAME, picker_paths

_T = TypeVar("_T")
# What SQLite says of a file that is not (or no longer) a readable history: moved aside.
# Busy, locked, full or failing disks are not the file's fault and are never moved.
_DAMAGE_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CANTOPEN", "SQLITE_ERROR",
                  "SQLITE_SCHEMA", "SQLITE_MISMATCH", "SQLITE_PERM")
_SIDE_FILES = ("-journal", "-wal", "-shm")
_SCHEMA_VERSION = 1
_RECENT_RUNS = 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS machines (
    id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL UNIQUE, description TEXT NOT NULL,
    details_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS model_files (
    id INTEGER PRIMARY KEY, identity TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, sha256 TEXT, hub_repo TEXT, hub_filename TEXT, hub_revision TEXT,
    path TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, created_at REAL NOT NULL, kind TEXT NOT NULL,
    machine_id INTEGER NOT NULL REFERENCES machines(id),
    model_file_id INTEGER NOT NULL REFERENCES model_files(id),
    settings_key TEXT NOT NULL, settings_json TEXT NOT NULL,
    passed INTEGER NOT NULL, reason TEXT,
    load_seconds REAL, time_to_first_token_seconds REAL,
    prompt_tokens_per_second REAL, generation_tokens_per_second REAL,
    peak_rss_bytes INTEGER, gpu_memory_used_bytes INTEGER,
    estimated_bytes INTEGER, measured_bytes INTEGER, error_pct REAL,
    details_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_lookup ON runs (machine_id, model_file_id, settings_key);
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY, size_bytes INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
"""

# Columns of `runs` a measurement fills directly (the rest goes to details_json).
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "load_seconds", "time_to_first_token_seconds", "prompt_tokens_per_second",
    "generation_tokens_per_second", "peak_rss_bytes", "gpu_memory_used_bytes",
    "estimated_bytes", "measured_bytes", "error_pct",
)


class RunRecord(NamedTuple):
    id: int
    created_at: float
    kind: str  # "smoke" or "chat"
    machine: str  # description
    machine_fingerprint: str
    model: ModelFile
    settings: dict[str, Any]
    passed: bool
    reason: str | None
    measurements: dict[str, Any]

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created_at)),
            "kind": self.kind,
            "machine": self.machine,
            "machine_fingerprint": self.machine_fingerprint,
            "model": {
                "name": self.model.name, "size_bytes": self.model.size_bytes,
                "sha256": self.model.sha256, "hub_repo": self.model.hub_repo,
                "hub_filename": self.model.hub_filename, "hub_revision": self.model.hub_revision,
                "path": self.model.path,
            },
            "settings": self.settings,
            "passed": self.passed,
            "reason": self.reason,
            **self.measurements,
        }


class MeasuredSpeed(NamedTuple):
    """What the ranking uses in place of an estimate ("measured on this machine")."""

    generation_tokens_per_second: float  # median of the most recent passed runs
    prompt_tokens_per_second: float | None
    runs: int
    last_measured_at: float
    settings: dict[str, Any]


class History:
    """Open with `History.open()` (the user's data dir) or `History(path)`.

    The history only refines estimates, so a database that cannot be read (truncated,
    overwritten, not a file) never stops a command: it is moved aside, kept for the user,
    and a fresh one is started; `notices` (shared with the caller when it passes a list)
    gets a one-line warning saying where the old one went.
    """

    def __init__(self, path: Path, notices: list[str] | None = None) -> None:
        self.path = path
        self.notices: list[str] = notices if notices is not None else []

    @classmethod
    def open(cls) -> "History":
        return cls(picker_paths().data_dir / HISTORY_DATABASE_NAME)

    def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """`work` in one transaction; run again on a fresh database if this one is damaged."""
        try:
            return self._attempt(work)
        except (sqlite3.Error, _NotAFile) as error:
            if not _damaged(error) or not self._set_aside(error):
                raise self._failure(error) from None
        try:
            return self._attempt(work)
        except (sqlite3.Error, _NotAFile) as error:
            raise self._failure(error) from None

    def _failure(self, error: BaseException) -> RuntimeFailureError:
        return RuntimeFailureError(f"the history database {self.path} failed ({error})")

    def _attempt(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)
            connection = sqlite3.connect(self.path, timeout=10)
        except OSError as error:
            raise RuntimeFailureError(f"cannot open the history database {self.path}: {error}") from None
        try:
            connection.row_factory = sqlite3.Row
            if connection.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
                connection.executescript(_SCHEMA)
                connection.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            with connection:
                return work(connection)
        finally:
            connection.close()

    def _set_aside(self, error: BaseException) -> bool:
        """Move the damaged database (and its journal: a hot journal left beside a fresh database
        would corrupt it) out of the way; False if that failed."""
        aside = set_aside(self.path, _SIDE_FILES)
        if aside is None:
            return False
        if aside != self.path:  # else another picker moved it a moment ago
            reason = " ".join(str(error).split())
            self.notices.append(f"the history database {self.path} could not be read ({reason}); "
                                f"it was moved to {aside} and a new one started")
        return True

    # -- writing ---------------------------------------------------------------------------

    def record_run(self, *, kind: str, machine: MachineFingerprint, model: ModelFile,
                   settings: Mapping[str, object], passed: bool, reason: str | None,
                   measurements: Mapping[str, object]) -> int:
        """Store one run; returns its id."""
        columns = {name: measurements.get(name) for name in MEASUREMENT_COLUMNS}
        details = {key: value for key, value in measurements.items()
                   if key not in MEASUREMENT_COLUMNS}

        def insert(db: sqlite3.Connection) -> int:
            machine_id = _upsert(db, "machines", "fingerprint", machine.fingerprint, {
                "description": machine.describe(),
                "details_json": json.dumps({
                    "cpu_name": machine.cpu_name, "logical_cores": machine.logical_cores,
                    "ram_bytes": machine.ram_bytes, "gpus": list(machine.gpus), "os": machine.os,
                }),
            })
            model_id = _upsert(db, "model_files", "identity", model.identity, {
                "name": model.name, "size_bytes": model.size_bytes, "sha256": model.sha256,
                "hub_repo": model.hub_repo, "hub_filename": model.hub_filename,
                "hub_revision": model.hub_revision, "path": model.path,
            })
            cursor = db.execute(
                "INSERT INTO runs (created_at, kind, machine_id, model_file_id, settings_key, "
                "settings_json, passed, reason, details_json, " + ", ".join(columns) + ") "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, " + ", ".join("?" * len(columns)) + ")",
                (time.time(), kind, machine_id, model_id, settings_key(settings),
                 json.dumps(dict(settings), sort_keys=True), int(passed), reason,
                 json.dumps(details), *columns.values()),
            )
            return int(cursor.lastrowid or 0)

        run_id = self._run(insert)
        write_digest(self.path, self.measured_speeds_by_machine, machine)  # the ranking reads it
        return run_id

    # -- reading ---------------------------------------------------------------------------

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """Newest first."""
        query = (
            "SELECT runs.*, machines.fingerprint, machines.description, model_files.name, "
            "model_files.size_bytes, model_files.sha256, model_files.hub_repo, "
            "model_files.hub_filename, model_files.hub_revision, model_files.path "
            "FROM runs JOIN machines ON machines.id = runs.machine_id "
            "JOIN model_files ON model_files.id = runs.model_file_id ORDER BY runs.id DESC"
        )
        rows = self._run(lambda db: db.execute(
            query + (f" LIMIT {int(limit)}" if limit else "")).fetchall())
        return [record for record in map(_record, rows) if record is not None]

    def measured_speed(self, machine: MachineFingerprint, *, sha256: str | None = None,
                       hub_repo: str | None = None, hub_filename: str | None = None,
                       settings: Mapping[str, object] | None = None) -> MeasuredSpeed | None:
        """Measured generation tokens/s for this model file (+ these settings) on this machine.

        The file is named by sha256, or by Hub repo and file name. Without `settings`,
        the most recently measured settings are used. None when nothing was measured.
        """
        if sha256 is None and (hub_repo is None or hub_filename is None):
            raise ValueError("name the model file by sha256 or by hub_repo + hub_filename")
        # Smoke tests only: their fixed prompt makes runs comparable; a chat's speed depends on
        # how long the conversation had grown.
        where = ["machines.fingerprint = ?", "runs.passed = 1", "runs.kind = 'smoke'",
                 "runs.generation_tokens_per_second IS NOT NULL"]
        values: list[Any] = [machine.fingerprint]
        if sha256 is not None:
            where.append("model_files.sha256 = ?")
            values.append(sha256.lower())
        else:
            where += ["model_files.hub_repo = ?", "model_files.hub_filename = ?"]
            values += [hub_repo, hub_filename]
        if settings is not None:
            where.append("runs.settings_key = ?")
            values.append(settings_key(settings))
        query = (
            "SELECT runs.settings_key, runs.settings_json, runs.created_at, "
            "runs.generation_tokens_per_second, runs.prompt_tokens_per_second FROM runs "
            "JOIN machines ON machines.id = runs.machine_id "
            "JOIN model_files ON model_files.id = runs.model_file_id "
            f"WHERE {' AND '.join(where)} ORDER BY runs.id DESC"
        )
        rows = self._run(lambda db: db.execute(query, values).fetchall())
        if not rows:
            return None
        return _summarize([row for row in rows if row["settings_key"] == rows[0]["settings_key"]])

    def measured_speeds(self, machine: MachineFingerprint) -> dict[tuple[str, str, str], MeasuredSpeed]:
        """Every measured speed on this machine in one query, keyed by (hub_repo, hub_filename,
        settings_key): the ranking looks up dozens of candidates and pays for one connection."""
        return self.measured_speeds_by_machine(machine.fingerprint).get(machine.fingerprint, {})

    def measured_speeds_by_machine(self, fingerprint: str | None = None
                                   ) -> dict[str, dict[tuple[str, str, str], MeasuredSpeed]]:
        """measured_speeds for every machine in the history (or just `fingerprint`). Smoke
        tests count first (their fixed prompt makes runs comparable); a chat's answers count
        for a file and settings no smoke test has measured, so a chat alone is not forgotten."""
        query = (
            "SELECT machines.fingerprint, model_files.hub_repo, model_files.hub_filename, "
            "runs.settings_key, runs.settings_json, runs.created_at, runs.kind, "
            "runs.generation_tokens_per_second, runs.prompt_tokens_per_second FROM runs "
            "JOIN machines ON machines.id = runs.machine_id "
            "JOIN model_files ON model_files.id = runs.model_file_id "
            "WHERE runs.passed = 1 AND runs.kind IN ('smoke', 'chat') "
            "AND runs.generation_tokens_per_second IS NOT NULL "
            "AND model_files.hub_repo IS NOT NULL AND model_files.hub_filename IS NOT NULL "
            + ("AND machines.fingerprint = ? " if fingerprint else "") + "ORDER BY runs.id DESC"
        )
        rows = self._run(lambda db: db.execute(query, (fingerprint,) if fingerprint else ()).fetchall())
        grouped: dict[str, dict[tuple[str, str, str], list[sqlite3.Row]]] = {}
        for row in rows:
            key = (row["hub_repo"], row["hub_filename"], row["settings_key"])
            grouped.setdefault(row["fingerprint"], {}).setdefault(key, []).append(row)
        return {machine: {key: _summarize([row for row in group if row["kind"] == "smoke"]
                                          or group) for key, group in by_key.items()}
                for machine, by_key in grouped.items()}

    def latest_run(self, machine: MachineFingerprint, *, sha256: str,
                   settings: Mapping[str, object] | None = None) -> RunRecord | None:
        """The newest passed smoke test of this file (+ settings) here: for the fit engine to set
        its estimate beside llama.cpp's measured buffers (`estimated_bytes`, `measured_bytes`,
        `error_pct`)."""
        for run in self.runs():
            if (run.kind == "smoke" and run.passed and run.model.sha256 == sha256.lower()
                    and run.machine_fingerprint == machine.fingerprint
                    and (settings is None or settings_key(run.settings) == settings_key(settings))):
                return run
        return None

    # -- file hashes -----------------------------------------------------------------------

    def sha256_of(self, path: Path) -> str:
        """sha256 of a local file, remembered by path, size and modification time."""
        stat = path.stat()
        key = str(path.resolve())
        row = self._run(lambda db: db.execute(
            "SELECT size_bytes, mtime_ns, sha256 FROM file_hashes WHERE path = ?", (key,)).fetchone())
        if row is not None and (row["size_bytes"], row["mtime_ns"]) == (stat.st_size,
                                                                        stat.st_mtime_ns):
            return str(row["sha256"])
        digest = sha256_of_file(path)
        self._run(lambda db: db.execute("INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)",
                                        (key, stat.st_size, stat.st_mtime_ns, digest)))
        return digest


class _NotAFile(Exception):
    """Something other than a regular file (a folder, a FIFO) sits at the database's path."""


def _damaged(error: BaseException) -> bool:
    return isinstance(error, _NotAFile) or str(getattr(error, "sqlite_errorname", "")).startswith(
        _DAMAGE_ERRORS)


def _create_private(path: Path) -> None:
    """Make a missing database file readable by its owner only (it names model files and
    machines); refuse anything but a regular file at the path (reading a FIFO would hang)."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        with contextlib.suppress(FileExistsError):  # another picker made it a moment ago
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    if not stat.S_ISREG(status.st_mode):
        raise _NotAFile(f"{path} is not a regular file")


def _json_object(text: object) -> dict[str, object]:
    """A JSON column's object, or {} when a damaged row holds anything else."""
    try:
        value = json.loads(text) if isinstance(text, str | bytes) else None
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _upsert(db: sqlite3.Connection, table: str, key_column: str, key: str,
            values: dict[str, object]) -> int:
    row = db.execute(f"SELECT id FROM {table} WHERE {key_column} = ?", (key,)).fetchone()
    if row is not None:
        assignments = ", ".join(f"{column} = ?" for column in values)
        db.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*values.values(), row["id"]))
        return int(row["id"])
    columns = [key_column, *values]
    cursor = db.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        (key, *values.values()),
    )
    return int(cursor.lastrowid or 0)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _summarize(runs_newest_first: list[sqlite3.Row]) -> MeasuredSpeed:
    """The median of the most recent runs of one model file with one set of settings (the
    median, not the mean: one run slowed by a busy machine should not move the figure)."""
    recent = runs_newest_first[:_RECENT_RUNS]
    prompt_rates = [row["prompt_tokens_per_second"] for row in recent
                    if row["prompt_tokens_per_second"] is not None]
    return MeasuredSpeed(
        generation_tokens_per_second=_median([row["generation_tokens_per_second"] for row in recent]),
        prompt_tokens_per_second=_median(prompt_rates) if prompt_rates else None,
        runs=len(runs_newest_first),
        last_measured_at=float(recent[0]["created_at"]),
        settings=_json_object(recent[0]["settings_json"]),
    )


def _record(row: sqlite3.Row) -> RunRecord | None:
    """The run in `row`, or None for a row too damaged to show."""
    measurements = {name: row[name] for name in MEASUREMENT_COLUMNS}
    measurements.update(_json_object(row["details_json"]))
    try:
        return RunRecord(
            id=int(row["id"]),
            created_at=float(row["created_at"]),
            kind=str(row["kind"]),
            machine=str(row["description"]),
            machine_fingerprint=str(row["fingerprint"]),
            model=ModelFile(
                name=row["name"], size_bytes=int(row["size_bytes"]), sha256=row["sha256"],
                hub_repo=row["hub_repo"], hub_filename=row["hub_filename"],
                hub_revision=row["hub_revision"], path=row["path"],
            ),
            settings=_json_object(row["settings_json"]),
            passed=bool(row["passed"]),
            reason=row["reason"],
            measurements=measurements,
        )
    except (TypeError, ValueError, OverflowError):
        return None
