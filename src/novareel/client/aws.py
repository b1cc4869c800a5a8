"""The calls to AWS: :class:`AwsClient` (old name ``NovaReelClient``, kept as an alias)
holds boto3's ``bedrock-runtime``, ``bedrock``, ``sts`` and ``s3`` clients with
novareel's defaults, made on first use, and makes every call through
:func:`~novareel.client.boundary.aws_boundary`.

Credentials, profiles, SSO, regions and endpoints resolve exactly as boto3 resolves
them (see :mod:`novareel.client`); the explicit keys of the Python API are passed to
``boto3.Session`` and never logged.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from novareel.client.boundary import LOCAL_HINT_API, aws_boundary
from novareel.client.records import InvocationStatus, S3Object, start_async_invoke_params
from novareel.foundation.arns import arn_region
from novareel.foundation.errors import AwsError, EndpointError, InvalidRequestError, Problem
from novareel.foundation.s3uri import OutputLocation, S3Uri

if TYPE_CHECKING:
    import boto3

log = logging.getLogger("novareel")

#: Nova Reel v1:1 exists only in us-east-1; it is the region used when boto3 finds none.
DEFAULT_REGION = "us-east-1"


class _KnownServices(Sequence[str]):
    """What a botocore ``Loader.list_available_services`` answers, asked lazily.

    botocore asks it before loading each model, only to check that the name is a
    service (``name in known``): answering that by listing every service folder (400
    of them, each listed again for its versions, once per model type) cost ~18 ms of
    each process's start. ``name in`` here looks in that service's folder only, by
    the same rule (a version folder holding a file of the type); anything else (the
    list in an unknown-service error, iteration) is botocore's own full listing.
    """

    def __init__(self, loader: Any, type_name: str) -> None:
        self._loader = loader
        self._type_name = type_name

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
            return False
        for root in self._loader.search_paths:
            folder = os.path.join(root, name)
            if not os.path.isdir(folder):
                continue
            for version in os.listdir(folder):
                if self._loader.file_loader.exists(os.path.join(folder, version, self._type_name)):
                    return True
        return False

    def _all(self) -> list[str]:
        import botocore.loaders

        names: list[str] = botocore.loaders.Loader.list_available_services(
            self._loader, self._type_name
        )
        return names

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())


class _SearchPaths(list[str]):
    """A loader's search paths where adding a path already there does nothing:
    ``boto3.Session`` appends its own data folder to the loader of every session, and
    the loader here is shared by every session of the process."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


_loader: Any = None
_loader_lock = threading.Lock()


def _service_loader() -> Any:
    """The one botocore data loader of the process's sessions (the default search paths,
    as without ``AWS_DATA_PATH``), whose ``list_available_services`` is
    :class:`_KnownServices`.

    Shared, the service models it has read (JSON: S3's alone takes ~25 ms to parse)
    serve every later client: a ``VideoGenerator`` per MCP tool call, per Python
    caller or per test no longer reads them again; botocore's own default session
    shares its loader among all its clients the same way.
    """
    global _loader
    with _loader_lock:
        if _loader is None:
            import botocore.loaders

            class ServiceLoader(botocore.loaders.Loader):  # type: ignore[misc]
                def list_available_services(self, type_name: str) -> _KnownServices:
                    return _KnownServices(self, type_name)

            _loader = ServiceLoader(extra_search_paths=_SearchPaths())
        return _loader


def _data_loader(core: Any) -> Any:
    """The loader of a botocore session: the shared :func:`_service_loader`, or
    botocore's own for a session given ``data_path`` (``AWS_DATA_PATH``, or the config
    file's ``data_path``: models of its own)."""
    path = core.get_config_variable("data_path")
    if path is None:
        return _service_loader()
    import botocore.loaders

    return botocore.loaders.create_loader(path)


class AwsClient:
    """boto3's ``bedrock-runtime``, ``bedrock``, ``sts`` and ``s3`` clients with novareel's
    defaults, whichever model the requests are for.

    Every argument is optional: boto3's usual resolution (environment, shared
    config, SSO, instance roles) fills the rest. ``credentials_file`` is the
    equivalent of pwshBedrock's ``-ProfileLocation``. ``default_region`` is used only
    when neither ``region`` nor boto3's configuration names one: the chosen model's
    own region, so Luma Ray 2 goes to us-west-2 and Nova Reel to us-east-1.
    ``local_hint`` is how error hints name the local emulator (``LOCAL_HINT_API``
    unless the command line says ``LOCAL_HINT_CLI``); ``isolated`` ignores
    ``AWS_PROFILE`` and the shared config and credentials files (the local emulator's
    client, which gets its own dummy keys).
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        credentials_file: str | None = None,
        max_attempts: int = 8,
        retry_mode: str = "adaptive",
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        boto3_session: boto3.Session | None = None,
        default_region: str | None = None,
        local_hint: str | None = None,
        isolated: bool = False,
    ) -> None:
        import boto3
        import botocore.session
        from botocore.config import Config

        if boto3_session is None:
            with aws_boundary("configure"):
                # The local emulator's client (``isolated``): the machine's AWS_PROFILE
                # (maybe a profile that does not exist here) and shared files (SSO, a
                # default region) must not reach it, and os.environ is left as it is.
                no_profile = {"profile": (None, None, None, None)} if isolated else None
                core = botocore.session.Session(session_vars=no_profile)
                # made when botocore would make its own, with the same data_path
                core.lazy_register_component("data_loader", lambda: _data_loader(core))
                if credentials_file:
                    core.set_config_variable("credentials_file", credentials_file)
                if isolated:
                    core.set_config_variable("config_file", os.devnull)
                    core.set_config_variable("credentials_file", os.devnull)
                boto3_session = boto3.Session(
                    aws_access_key_id=access_key,
                    aws_secret_access_key=secret_key,
                    aws_session_token=session_token,
                    region_name=region,
                    profile_name=profile,
                    botocore_session=core,
                )
        self.session = boto3_session
        #: where the region came from: "argument", "configuration" (boto3's
        #: environment / profile) or "default" (``default_region``: the model's own)
        self.region_source = (
            "argument" if region else "configuration" if boto3_session.region_name else "default"
        )
        self.region: str = region or boto3_session.region_name or default_region or DEFAULT_REGION
        self.endpoint_url = endpoint_url
        #: the local emulator's client: no AWS configuration applies to it
        self.isolated = isolated
        self.local_hint = local_hint or LOCAL_HINT_API
        self._config = Config(
            region_name=self.region,
            retries={"mode": retry_mode, "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            user_agent_extra="novareel",
        )
        #: boto3 clients by (service, region), made on first use
        self._clients: dict[tuple[str, str], Any] = {}

    # -- boto3 clients, made on first use so that ``--dry-run`` needs no credentials --

    @property
    def runtime_endpoint(self) -> str | None:
        """Where bedrock-runtime calls go, as boto3 resolves it: the argument, else
        ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` / ``AWS_ENDPOINT_URL``; None means AWS's
        own endpoint. The ledger records it so that spend can leave local jobs out."""
        return runtime_endpoint_for(self.endpoint_url)

    def _service(self, name: str, region: str | None = None) -> Any:
        """The boto3 client for ``name`` in ``region`` (this client's own by default)."""
        region = region or self.region
        key = (name, region)
        if key not in self._clients:
            config = self._config
            if region != self.region:
                from botocore.config import Config

                config = config.merge(Config(region_name=region))
            with aws_boundary("configure"):
                self._clients[key] = self.session.client(
                    name, endpoint_url=self.endpoint_url, config=config
                )
        return self._clients[key]

    @property
    def bedrock(self) -> Any:
        return self._service("bedrock-runtime")

    def bedrock_in(self, region: str | None) -> Any:
        """bedrock-runtime in ``region`` (this client's own when None).

        A job lives in the region it was submitted to (its ARN says which), and a
        model runs only in its regions: a client configured for us-east-1 still has to
        ask us-west-2 about a Luma Ray 2 job.
        """
        return self._service("bedrock-runtime", region)

    @property
    def s3(self) -> Any:
        return self._service("s3")

    def _call(self, operation: str, func: Callable[..., Any], **kwargs: Any) -> Any:
        """Call one API operation inside the error boundary, with one log line."""
        started = time.perf_counter()
        outcome = "error"
        try:
            with aws_boundary(operation, self.local_hint):
                response = func(**kwargs)
            outcome = "ok"
            return response
        finally:
            log.info("%s %s in %.0f ms", operation, outcome, (time.perf_counter() - started) * 1e3)

    # -- Bedrock async invoke --

    def start_async_invoke(
        self,
        *,
        model_id: str,
        model_input: dict[str, Any],
        output: OutputLocation,
        client_token: str,
        tags: dict[str, str] | None = None,
        region: str | None = None,
    ) -> str:
        """StartAsyncInvoke; returns the invocation ARN. Same token, same job."""
        kwargs = start_async_invoke_params(
            model_id=model_id,
            model_input=model_input,
            output=output,
            client_token=client_token,
            tags=tags,
        )
        bedrock = self.bedrock_in(region)
        response = self._call("StartAsyncInvoke", bedrock.start_async_invoke, **kwargs)
        return str(response["invocationArn"])

    def invoke_model(
        self, *, model_id: str, body: dict[str, Any], region: str | None = None
    ) -> dict[str, Any]:
        """InvokeModel (synchronous) with a JSON body; returns the parsed JSON answer.

        Used by ``review`` (Amazon Nova 2 Lite's ``messages-v1`` body): the body is sent
        as built, the answer parsed here so no botocore stream leaves this layer."""
        runtime = self.bedrock_in(region)
        response = self._call(
            "InvokeModel",
            runtime.invoke_model,
            modelId=model_id,
            body=json.dumps(body).encode("utf-8"),
            contentType="application/json",
            accept="application/json",
        )
        with aws_boundary("InvokeModel", self.local_hint):
            raw = response["body"].read()
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise AwsError(
                f"InvokeModel answered something that is not JSON: {raw[:200]!r}",
                operation="InvokeModel",
            ) from exc
        if not isinstance(answer, dict):
            raise AwsError(
                "InvokeModel answered JSON that is not an object", operation="InvokeModel"
            )
        return answer

    @staticmethod
    def region_of_job(invocation_arn: str | None) -> str | None:
        """The region a job runs in, as its invocation ARN names it (None: unknown)."""
        return arn_region(invocation_arn)

    def get_async_invoke(self, invocation_arn: str) -> InvocationStatus:
        """GetAsyncInvoke for one ARN, in the region the ARN names."""
        region = arn_region(invocation_arn)
        response = self._call(
            "GetAsyncInvoke",
            self.bedrock_in(region).get_async_invoke,
            invocationArn=invocation_arn,
        )
        return InvocationStatus.from_response(response)

    def list_async_invokes(
        self,
        *,
        status: str | None = None,
        submitted_after: datetime | None = None,
        submitted_before: datetime | None = None,
        sort_order: str = "Descending",
        max_items: int | None = None,
        page_size: int | None = None,
        region: str | None = None,
    ) -> Iterator[InvocationStatus]:
        """ListAsyncInvokes with every filter, following ``nextToken`` to the end, in
        ``region`` (this client's own when None: jobs are listed where they run)."""
        kwargs: dict[str, Any] = {"sortBy": "SubmissionTime", "sortOrder": sort_order}
        if status:
            kwargs["statusEquals"] = status
        if submitted_after:
            kwargs["submitTimeAfter"] = submitted_after
        if submitted_before:
            kwargs["submitTimeBefore"] = submitted_before
        if page_size:
            kwargs["maxResults"] = page_size
        seen = 0
        while True:
            response = self._call(
                "ListAsyncInvokes", self.bedrock_in(region).list_async_invokes, **kwargs
            )
            for item in response.get("asyncInvokeSummaries", []):
                yield InvocationStatus.from_response(item)
                seen += 1
                if max_items is not None and seen >= max_items:
                    return
            token = response.get("nextToken")
            if not token:
                return
            kwargs["nextToken"] = token

    # -- S3 --

    def list_objects(self, folder: S3Uri) -> list[S3Object]:
        """Every object under a folder (all pages)."""
        prefix = folder.as_folder().key
        objects: list[S3Object] = []
        kwargs: dict[str, Any] = {"Bucket": folder.bucket, "Prefix": prefix}
        while True:
            response = self._call("ListObjectsV2", self.s3.list_objects_v2, **kwargs)
            for item in response.get("Contents", []):
                objects.append(S3Object(key=item["Key"], size=int(item["Size"])))
            if not response.get("IsTruncated"):
                return objects
            kwargs["ContinuationToken"] = response["NextContinuationToken"]

    def read_object(self, uri: S3Uri, *, max_bytes: int = 5_000_000) -> bytes:
        """A small object's bytes (status files, manifests); refuses big objects."""
        response = self._call("GetObject", self.s3.get_object, Bucket=uri.bucket, Key=uri.key)
        body = response["Body"]
        with aws_boundary("GetObject", self.local_hint):
            data: bytes = body.read(max_bytes + 1)
            body.close()
        if len(data) > max_bytes:
            raise AwsError(f"{uri} is larger than {max_bytes} bytes", operation="GetObject")
        return data

    def presign_get(self, uri: S3Uri, expires: int = 3600, *, region: str | None = None) -> str:
        """A time-limited HTTPS link that GETs one object without credentials.

        Signed locally (no request is sent), so it works offline; it fails with
        :class:`AwsError` (code ``NoCredentials``) when there are no credentials to
        sign with. ``region`` is the bucket's (a job's output bucket is in the job's
        region, which its ARN names); a link signed for another region is refused.
        """
        if not 1 <= expires <= 7 * 24 * 3600:
            raise InvalidRequestError(
                Problem("expires", "must be 1 second to 7 days", value=expires, limit="1-604800")
            )
        s3 = self._service("s3", region)
        with aws_boundary("PresignGetObject"):
            url: str = s3.generate_presigned_url(
                "get_object", Params={"Bucket": uri.bucket, "Key": uri.key}, ExpiresIn=expires
            )
        return url

    def download_objects(
        self,
        items: Sequence[tuple[S3Uri, Path]],
        *,
        on_bytes: Callable[[int], None] | None = None,
        max_concurrency: int = 8,
    ) -> None:
        """Download objects with s3transfer (parallel, ranged, retried on cut streams).

        s3transfer writes each file under a temporary name and renames it when it is
        complete, so an interrupted download never leaves a truncated file under the
        final name.
        """
        from boto3.s3.transfer import TransferConfig, create_transfer_manager
        from s3transfer.subscribers import BaseSubscriber

        class _Progress(BaseSubscriber):  # type: ignore[misc]
            def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
                if on_bytes is not None:
                    on_bytes(bytes_transferred)

        config = TransferConfig(
            max_concurrency=max_concurrency,
            multipart_threshold=16 * 1024 * 1024,
            multipart_chunksize=8 * 1024 * 1024,
            num_download_attempts=8,
        )
        from s3transfer.exceptions import RetriesExceededError

        started = time.perf_counter()
        with aws_boundary("GetObject", self.local_hint):
            manager = create_transfer_manager(self.s3, config)
            try:
                futures = [
                    manager.download(uri.bucket, uri.key, str(dest), subscribers=[_Progress()])
                    for uri, dest in items
                ]
                for future in futures:
                    future.result()
            except RetriesExceededError as exc:
                # s3transfer's own type (not botocore's): every re-read of a cut stream
                # failed. Translate it here so nothing transfer-typed leaves the client.
                raise EndpointError(
                    f"GetObject failed: the download was cut off "
                    f"{config.num_download_attempts} times ({exc.last_exception})",
                    operation="GetObject",
                    hint="Run the download again; complete files are kept.",
                ) from exc
            finally:
                manager.shutdown()
        log.info(
            "downloaded %d objects in %.0f ms", len(items), (time.perf_counter() - started) * 1e3
        )

    def ensure_bucket(self, bucket: str) -> None:
        """Create a bucket unless it exists (used for the local emulator only)."""
        from botocore.exceptions import ClientError

        try:
            self.s3.head_bucket(Bucket=bucket)
            return
        except ClientError:
            pass
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        self._call("CreateBucket", self.s3.create_bucket, **kwargs)

    # -- Bedrock control plane and STS (``novareel models`` / ``doctor``) --

    @property
    def control(self) -> Any:
        """The ``bedrock`` control-plane client (foundation models, availability)."""
        return self._service("bedrock")

    @property
    def sts(self) -> Any:
        """The STS client (who the credentials belong to)."""
        return self._service("sts")

    def get_foundation_model(self, model_id: str) -> dict[str, Any]:
        """GetFoundationModel: the ``modelDetails`` (lifecycle, modalities, provider)."""
        response = self._call(
            "GetFoundationModel", self.control.get_foundation_model, modelIdentifier=model_id
        )
        return dict(response.get("modelDetails") or {})

    def list_foundation_models(self, provider: str | None = None) -> list[dict[str, Any]]:
        """ListFoundationModels, keeping the models whose output modalities include VIDEO.

        botocore's ``byOutputModality`` enum has no VIDEO value, so the filter is applied
        here, on the client side.
        """
        kwargs: dict[str, Any] = {}
        if provider:
            kwargs["byProvider"] = provider
        response = self._call("ListFoundationModels", self.control.list_foundation_models, **kwargs)
        return [
            dict(item)
            for item in response.get("modelSummaries") or []
            if "VIDEO" in (item.get("outputModalities") or [])
        ]

    def get_foundation_model_availability(self, model_id: str) -> dict[str, Any]:
        """GetFoundationModelAvailability: authorization, entitlement, agreement, region."""
        response = self._call(
            "GetFoundationModelAvailability",
            self.control.get_foundation_model_availability,
            modelId=model_id,
        )
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    def get_caller_identity(self) -> dict[str, Any]:
        """STS GetCallerIdentity: ``Account``, ``Arn``, ``UserId``."""
        response = self._call("GetCallerIdentity", self.sts.get_caller_identity)
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    def bucket_region(self, bucket: str) -> str | None:
        """HeadBucket; the bucket's region (``BucketRegion`` or ``x-amz-bucket-region``)."""
        response = self._call("HeadBucket", self.s3.head_bucket, Bucket=bucket)
        region = response.get("BucketRegion")
        if not region:
            headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
            region = headers.get("x-amz-bucket-region")
        return str(region) if region else None

    def probe_write(self, bucket: str, key: str, kms_key_id: str | None = None) -> None:
        """PutObject a tiny object (SSE-KMS with ``kms_key_id``), then DeleteObject it.

        A refused write raises from PutObject; a write that could not be cleaned up
        raises from DeleteObject (``AwsError.operation`` tells which).
        """
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "Body": b"novareel doctor: write check, deleted at once\n",
            "ContentType": "text/plain",
        }
        if kms_key_id:
            kwargs["ServerSideEncryption"] = "aws:kms"
            kwargs["SSEKMSKeyId"] = kms_key_id
        self._call("PutObject", self.s3.put_object, **kwargs)
        self._call("DeleteObject", self.s3.delete_object, Bucket=bucket, Key=key)


#: The old name, from when the client served Nova Reel only; the same class (it calls
#: Bedrock and S3 for every registered model, Luma Ray 2 too), kept so existing code
#: keeps working.
NovaReelClient = AwsClient


def runtime_endpoint_for(endpoint_url: str | None) -> str | None:
    """Where a client made with ``endpoint_url`` sends bedrock-runtime calls (see
    :attr:`AwsClient.runtime_endpoint`), known without making one (a dry run)."""
    return (
        endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )
