"""macOS sysctl reads, bounded in time so a probe never hangs."""

from __future__ import annotations

SYSCTL_TIMEOUT_SECONDS = 2.0


def read_sysctl(key: str, warnings: list[str]) -> str | None:
    """`sysctl -n KEY`, or None with a warning when it is missing, fails or stalls."""
    import subprocess  # only on macOS: ~6 ms of import that Linux and Windows never need

    try:
        completed = subprocess.run(
            ["sysctl", "-n", key],
            capture_output=True,
            text=True,
            errors="replace",  # bytes that are not UTF-8 become U+FFFD, never UnicodeDecodeError
            timeout=SYSCTL_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        warnings.append(f"sysctl not found; {key} not available")
        return None
    except subprocess.TimeoutExpired:
        warnings.append(f"sysctl {key} did not answer within {SYSCTL_TIMEOUT_SECONDS:g} s")
        return None
    except OSError as error:
        warnings.append(f"sysctl {key} failed ({error.strerror})")
        return None
    value = completed.stdout.strip()
    if completed.returncode != 0 or not value:
        return None
    return value
