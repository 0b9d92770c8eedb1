"""
An S3-compatible server on 127.0.0.1 (moto's), with one bucket: the recordings storage as a bucket,
through django-storages, without leaving the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUCKET = "calls-recordings"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class S3Bucket:
    endpoint: str
    client: Any  # a boto3 S3 client

    @property
    def storage(self) -> dict[str, Any]:
        """``STORAGES["recordings"]`` for this bucket (django-storages' S3Storage)."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": self.endpoint,
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
                "region_name": CREDENTIALS["region_name"],
                "querystring_expire": 60,
            },
        }

    @property
    def env(self) -> dict[str, str]:
        """The same storage as a process's environment (CALLS_RECORDINGS_STORAGE and its options)."""
        return {
            "CALLS_RECORDINGS_STORAGE": self.storage["BACKEND"],
            "CALLS_RECORDINGS_STORAGE_OPTIONS": json.dumps(self.storage["OPTIONS"]),
        }

    def keys(self) -> list[str]:
        return [item["Key"] for item in self.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def s3_bucket(log_path: Path) -> Iterator[S3Bucket]:
    """Run moto's S3 server on a free port of 127.0.0.1 with an empty bucket, for the block."""
    import boto3

    port = free_port()
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    client.create_bucket(Bucket=BUCKET)
                    break
                except Exception:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.1)
            yield S3Bucket(endpoint, client)
        finally:
            server.terminate()
            server.wait(timeout=10)
