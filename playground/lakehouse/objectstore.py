"""The warehouse's file system: a local folder (embedded) or the stack's S3 bucket, via pyarrow."""

from __future__ import annotations

from pyarrow import fs

from playground.config.settings import Settings


def filesystem(settings: Settings, location: str):
    """A pyarrow filesystem and the path inside it for a warehouse location (file:// or s3://)."""
    if location.startswith("s3://"):
        s3 = fs.S3FileSystem(
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            endpoint_override=settings.s3_endpoint,
            scheme="https" if settings.s3_endpoint.startswith("https") else "http",
            connect_timeout=3,
            request_timeout=10,
        )
        return s3, location.removeprefix("s3://")
    return fs.LocalFileSystem(), location.removeprefix("file://")


def bucket_exists(settings: Settings) -> bool:
    """Whether the stack's warehouse bucket exists (raises OSError when S3 cannot be reached)."""
    s3, bucket = filesystem(settings, f"s3://{settings.s3_bucket}")
    return s3.get_file_info(bucket).type != fs.FileType.NotFound
