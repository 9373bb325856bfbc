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


def open_uploads(settings: Settings, location: str) -> list[tuple[str, str, float]]:
    """The multipart uploads begun under an s3:// location and never completed or aborted
    (what a writer killed while writing a file leaves: parts on the server's disk that no
    listing shows), as (bucket/key, upload id, epoch seconds begun); none for a local folder.
    S3 lists at most 1,000 a call: the rest show after those are gone."""
    if not location.startswith("s3://"):
        return []
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    found = _s3fs(settings).call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix)
    return [
        (f"{bucket}/{u['Key']}", u["UploadId"], u["Initiated"].timestamp())
        for u in found.get("Uploads", [])
    ]


def abort_upload(settings: Settings, path: str, upload_id: str) -> None:
    """Abort one unfinished multipart upload (`path` is bucket/key); its parts are freed."""
    bucket, _, key = path.partition("/")
    try:
        _s3fs(settings).call_s3("abort_multipart_upload", Bucket=bucket, Key=key,
                                UploadId=upload_id)  # fmt: skip
    except FileNotFoundError:  # another clean aborted it first
        pass


def _s3fs(settings: Settings):
    # pyarrow's S3 file system has no call for multipart uploads; s3fs (a dependency) does
    import s3fs

    return s3fs.S3FileSystem(
        key=settings.s3_access_key,
        secret=settings.s3_secret_key,
        endpoint_url=settings.s3_endpoint,
        client_kwargs={"region_name": settings.s3_region},
        config_kwargs={"s3": {"addressing_style": "path"}, "connect_timeout": 3},
        skip_instance_cache=True,
    )
