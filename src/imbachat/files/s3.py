"""S3-compatible object storage, shared by several nodes: AWS S3, MinIO, Ceph,
Garage, R2... ``s3://bucket/prefix?endpoint=http://host:9000&region=us-east-1``.

Uploads go up in parts read from the temporary file in a thread, so neither the
event loop waits on the disk nor the whole file sits in memory; reads stream.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

import anyio.to_thread

PART = 8 * 1024 * 1024  # S3's parts are at least 5 MiB, except the last


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        try:
            from aiobotocore.session import get_session
        except ImportError:
            raise RuntimeError(
                "IMBACHAT_FILES_URL names S3 storage, which needs the s3 extra: "
                "pip install 'imbachat[s3]'"
            ) from None
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._session = get_session()
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint,
            "region_name": region or "us-east-1",
            "aws_access_key_id": access_key or os.environ.get("AWS_ACCESS_KEY_ID"),
            "aws_secret_access_key": secret_key or os.environ.get("AWS_SECRET_ACCESS_KEY"),
        }
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._ready = anyio.Lock()

    @classmethod
    def from_url(cls, url: str) -> S3Storage:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.hostname:
            raise ValueError(f"IMBACHAT_FILES_URL must look like s3://bucket/prefix, not {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return cls(
            parts.hostname,
            parts.path,
            endpoint=query.get("endpoint"),
            region=query.get("region"),
            access_key=unquote(parts.username) if parts.username else None,
            secret_key=unquote(parts.password) if parts.password else None,
        )

    async def _s3(self) -> Any:
        async with self._ready:
            if self._client is None:
                from botocore.config import Config

                stack = AsyncExitStack()
                config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3})
                self._client = await stack.enter_async_context(
                    self._session.create_client("s3", config=config, **self._options)
                )
                self._stack = stack
                await self._ensure_bucket()
        return self._client

    async def _ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            await self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            await self._client.create_bucket(Bucket=self.bucket)

    async def put(self, key: str, source: BinaryIO, content_type: str) -> None:
        s3 = await self._s3()
        name = self.prefix + key
        size = await anyio.to_thread.run_sync(source.seek, 0, os.SEEK_END)
        await anyio.to_thread.run_sync(source.seek, 0)
        if size <= PART:
            body = await anyio.to_thread.run_sync(source.read)
            await s3.put_object(Bucket=self.bucket, Key=name, Body=body, ContentType=content_type)
            return
        upload = await s3.create_multipart_upload(
            Bucket=self.bucket, Key=name, ContentType=content_type
        )
        done = []
        try:
            number = 1
            while chunk := await anyio.to_thread.run_sync(source.read, PART):
                part = await s3.upload_part(
                    Bucket=self.bucket,
                    Key=name,
                    UploadId=upload["UploadId"],
                    PartNumber=number,
                    Body=chunk,
                )
                done.append({"ETag": part["ETag"], "PartNumber": number})
                number += 1
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=name,
                UploadId=upload["UploadId"],
                MultipartUpload={"Parts": done},
            )
        except BaseException:
            await s3.abort_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload["UploadId"]
            )
            raise

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        s3 = await self._s3()
        wanted = f"bytes={start}-{'' if end is None else end}"
        answer = await s3.get_object(Bucket=self.bucket, Key=self.prefix + key, Range=wanted)
        async with answer["Body"] as body:
            while chunk := await body.read(256 * 1024):
                yield chunk

    async def delete(self, keys: list[str]) -> None:
        if not keys:
            return
        s3 = await self._s3()
        for first in range(0, len(keys), 1000):
            objects = [{"Key": self.prefix + key} for key in keys[first : first + 1000]]
            await s3.delete_objects(Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True})

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
            self._client = None
