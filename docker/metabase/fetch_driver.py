"""Download the Metabase DuckDB driver of one release and verify its SHA-256 (image build step).

The expected digest is the one GitHub publishes for the release asset (`digest` in the release
API), or the one given with --sha256; with both, both must match. The build fails on a mismatch,
on a missing digest, or when the release has no such asset. Standard library only.

    python fetch_driver.py --version 1.5.5.0 --arch amd64 --out /plugins/duckdb.metabase-driver.jar
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.request
from pathlib import Path

REPOSITORY = "motherduckdb/metabase_duckdb_driver"
# The official Metabase image is Alpine (musl libc): the driver's default jar carries a glibc
# DuckDB library that does not load there, so take the musl build for the image's architecture.
ASSETS = {
    "amd64": "duckdb-linux_amd64_musl.metabase-driver.jar",
    "arm64": "duckdb-linux_arm64_musl.metabase-driver.jar",
}


class FetchError(RuntimeError):
    pass


def _get(url: str, timeout: float = 60) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "playground-metabase-build"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https/http only
        return response.read()


def fetch(version: str, arch: str, out: Path, sha256: str | None = None,
          api: str = "https://api.github.com") -> str:  # fmt: skip
    """Download the asset for `arch`, verify it, write it to `out`; return its SHA-256."""
    if arch not in ASSETS:
        raise FetchError(f"no driver build for architecture {arch!r}; known: {', '.join(ASSETS)}")
    name = ASSETS[arch]
    release_url = f"{api.rstrip('/')}/repos/{REPOSITORY}/releases/tags/{version}"
    try:
        release = json.loads(_get(release_url))
    except OSError as exc:
        raise FetchError(f"cannot read release {version} ({release_url}): {exc}") from None
    asset = next((a for a in release.get("assets", []) if a.get("name") == name), None)
    if asset is None:
        found = ", ".join(a.get("name", "?") for a in release.get("assets", [])) or "none"
        raise FetchError(f"release {version} has no asset {name} (assets: {found})")
    published = (asset.get("digest") or "").removeprefix("sha256:").lower() or None
    expected = {d.lower() for d in (published, sha256) if d}
    if not expected:
        raise FetchError(
            f"GitHub publishes no digest for {name} in {version}: pass --sha256 (build arg "
            "DUCKDB_DRIVER_SHA256) with the checksum you trust"
        )
    if len(expected) > 1:
        raise FetchError(f"--sha256 {sha256} differs from GitHub's published digest {published}")
    data = _get(asset["browser_download_url"], timeout=300)
    actual = hashlib.sha256(data).hexdigest()
    if actual not in expected:
        raise FetchError(f"{name}: SHA-256 {actual} does not match the expected {expected.pop()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return actual


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True)
    parser.add_argument("--arch", required=True, help="amd64 or arm64 (Docker's TARGETARCH)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--sha256", default=None, help="a pinned checksum (optional)")
    parser.add_argument("--api", default="https://api.github.com")
    args = parser.parse_args(argv)
    try:
        digest = fetch(args.version, args.arch, args.out, args.sha256 or None, args.api)
    except FetchError as exc:
        print(f"fetch_driver: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: sha256 {digest} verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
