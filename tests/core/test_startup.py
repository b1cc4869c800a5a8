"""What starting ``novareel batch`` and ``novareel generate`` loads (bench 4 and 12).

Not timed tests: each runs the real command in a fresh interpreter and looks at
``sys.modules`` when it exits. A command imports only its own CLI module (the
others' imports and Typer's building of their options cost every start; four
``novareel batch`` processes started at once paid it four times on two cores) and
none of the heavy packages its path never uses. ``_COMMAND_HOME`` (which module
registers which command) is checked against what the modules really register, so a
new command cannot be left out of it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from novareel.cli import _COMMAND_HOME, _COMMAND_MODULES
from tests.helpers import process_env

if TYPE_CHECKING:
    from novareel.client.aws import AwsClient

#: Run ``novareel ARGS`` in this interpreter, then write the loaded module names.
_RUN = """
import atexit, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["novareel", *sys.argv[2:]]
from novareel.cli import main
main()
"""

#: Never needed to submit and follow jobs without downloading them: the video and QA
#: stack (decoding, numpy), Rich (``--json`` prints plain JSON), the PostgreSQL driver
#: (SQLite ledger), the MCP SDK and server, the gallery, the preflight survey, the
#: emulator and moto (``--local`` finds the running one).
HEAVY = (
    "numpy",
    "av",
    "PIL",
    "pydantic",
    "rich",
    "psycopg",
    "sqlalchemy",
    "mcp",
    "moto",
    "novareel.media.qa",
    "novareel.media.video",
    "novareel.gallery",
    "novareel.mcp_server",
    "novareel.preflight",
    "novareel.emulator",
)


def _other_commands(own: str) -> set[str]:
    """The CLI modules of every command but ``own`` (and what ``own`` imports itself:
    ``generate`` shows reviews with ``review_cmd``'s printer)."""
    shared = {"review_cmd"}
    return {f"novareel.cli.{m}" for m in _COMMAND_MODULES if m != own and m not in shared}


def _loaded(tmp_path: Path, env: dict[str, str], *args: str) -> set[str]:
    out = tmp_path / "modules.txt"
    run = subprocess.run(
        [sys.executable, "-c", _RUN, str(out), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return set(out.read_text().split())


def _env(tmp_path: Path, emulator: Any) -> dict[str, str]:
    env = process_env(tmp_path / "home", emulator.url)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")  # not our business here
    return env


def test_batch_loads_only_its_command_and_no_heavy_module(tmp_path: Path, emulator: Any) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text("- id: one\n  prompt: a paper boat on a pond\n", encoding="utf-8")
    loaded = _loaded(
        tmp_path,
        _env(tmp_path, emulator),
        "batch",
        str(batch),
        "--local",
        "--no-download",
        "--json",
    )
    assert {"novareel.cli.batch_cmd", "novareel.batch.runner", "botocore.client"} <= loaded
    assert sorted(loaded & _other_commands("batch_cmd")) == []
    assert sorted(loaded & set(HEAVY)) == []


def test_generate_loads_only_its_command_and_no_heavy_module(tmp_path: Path, emulator: Any) -> None:
    loaded = _loaded(
        tmp_path,
        _env(tmp_path, emulator),
        "generate",
        "a paper boat on a pond",
        "--local",
        "--no-download",
        "--json",
    )
    assert {"novareel.cli.generate", "novareel.jobs.api", "botocore.client"} <= loaded
    assert sorted(loaded & _other_commands("generate")) == []
    assert sorted(loaded & {*HEAVY, "yaml", "novareel.batch.runner"}) == []


def test_status_builds_no_request(tmp_path: Path, emulator: Any) -> None:
    """``status`` reads a job and asks the service once: the request builder, the
    image readers it imports and the budget rules (~20 ms of each start, benchmark 4)
    stay unloaded."""
    env = _env(tmp_path, emulator)
    loaded = _loaded(tmp_path, env, "generate", "a paper boat", "--local", "--no-wait", "--json")
    assert "novareel.requests.compose" in loaded  # generate builds one, of course
    loaded = _loaded(tmp_path, env, "status", "1", "--local")
    assert {"novareel.cli.track", "novareel.jobs.api", "botocore.client"} <= loaded
    assert sorted(loaded & _other_commands("track")) == []
    # The request builder and its image readers, and the budget rules (no cap to
    # check: nothing is submitted).
    unused = {
        "novareel.requests.compose",
        "novareel.media.images",
        "novareel.requests.prompting",
        "novareel.limits.budget",
    }
    assert sorted(loaded & {*HEAVY, *unused, "yaml"}) == []


def _registered_by(module: str) -> set[str]:
    """The top-level commands on ``app`` after importing only ``novareel.cli.<module>``
    (in a fresh interpreter: a module cannot be unregistered)."""
    code = (
        "import importlib, typer.main\n"
        "from novareel.cli.app import app\n"
        f"importlib.import_module('novareel.cli.{module}')\n"
        "print(' '.join(typer.main.get_command(app).commands))\n"
    )
    return set(_printed_by(code).split())


def _printed_by(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter (nothing imported yet)."""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return run.stdout


def test_every_command_has_the_home_that_registers_it() -> None:
    from novareel.cli import _register

    _register()  # every module, as `novareel --help` does
    import typer.main

    from novareel.cli.app import app

    assert set(typer.main.get_command(app).commands) == set(_COMMAND_HOME)
    for home in sorted(set(_COMMAND_HOME.values())):
        names = {name for name, where in _COMMAND_HOME.items() if where == home}
        assert names <= _registered_by(home), home


@pytest.mark.parametrize(
    ("args", "modules"),
    [
        (["batch", "f.yaml", "--local"], {"batch_cmd"}),
        (["-v", "storyboard", "check", "-v"], {"media"}),
        (["jobs", "show", "3"], {"jobs_cmd"}),
        ([], set(_COMMAND_MODULES)),  # --help of the root: every command listed
        (["--version"], set(_COMMAND_MODULES)),
        (["bach"], set(_COMMAND_MODULES)),  # unknown: click suggests "batch" from all
    ],
)
def test_register_imports_the_named_commands_module(args: list[str], modules: set[str]) -> None:
    code = (
        "import sys\n"
        "from novareel.cli import _register\n"
        f"_register({args!r})\n"
        "print(' '.join(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('novareel.cli.')))"
    )
    imported = set(_printed_by(code).split()) & set(_COMMAND_MODULES)
    assert modules <= imported
    if modules != set(_COMMAND_MODULES):  # none of the commands it does not name
        assert imported & {"gallery_cmd", "mcp_cmd", "doctor_cmd", "models_cmd"} == set()


def _isolated_client() -> AwsClient:
    """An ``AwsClient`` that reads no machine configuration and reaches nothing (a
    closed port): what making its boto3 clients costs is all there is to it."""
    from novareel.client.aws import AwsClient

    return AwsClient(
        region="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        access_key="a",
        secret_key="b",
        isolated=True,
    )


def test_clients_are_made_without_listing_every_service_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """botocore checks a service name against the list of every service folder (~400,
    each listed again, per model type) before loading a model; novareel's loader looks
    in the named folder only, by the same rule, and lists all only when asked to."""
    import botocore.exceptions
    import botocore.loaders

    everything = botocore.loaders.Loader().list_available_services("service-2")

    def listed(self: Any, type_name: str) -> list[str]:
        raise AssertionError(f"listed every service folder for {type_name}")

    with monkeypatch.context() as patch:
        patch.setattr(botocore.loaders.Loader, "list_available_services", listed)
        client = _isolated_client()
        assert client.s3.meta.service_model.service_name == "s3"
        assert client.bedrock.meta.service_model.service_name == "bedrock-runtime"
        known = client.session._session.get_component("data_loader").list_available_services(
            "service-2"
        )
        assert "bedrock" in known and "sts" in known
        assert "no-such-service" not in known and "../s3" not in known and "" not in known

    # the whole list, when something does ask for it, is botocore's own
    assert list(known) == everything and len(known) == len(everything)
    with pytest.raises(botocore.exceptions.UnknownServiceError, match="bedrock-runtime"):
        client.session.client("no-such-service", region_name="us-east-1")


def test_a_second_client_reads_no_service_model_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client of the process shares one botocore loader: the models one client
    read (S3's JSON alone is ~25 ms to parse) serve the next (a ``VideoGenerator`` per
    MCP tool call), and boto3's own data folder is not added to it once per session."""
    import botocore.loaders

    def client() -> AwsClient:
        made = _isolated_client()
        assert made.s3 is not None and made.bedrock is not None
        return made

    first = client()
    read: list[str] = []
    real = botocore.loaders.JSONFileLoader.load_file

    def load_file(self: Any, file_path: str) -> Any:
        read.append(file_path)
        return real(self, file_path)

    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file", load_file)
    second = client()
    assert read == []
    loader = second.session._session.get_component("data_loader")
    assert loader is first.session._session.get_component("data_loader")
    assert len(loader.search_paths) == len(set(loader.search_paths))


def test_local_asks_s3_only_for_a_bucket_the_emulator_did_not_name(
    emulator: Any, s3_client: Any
) -> None:
    """The emulator's health document (asked anyway, for its speed) names its buckets:
    ``novareel-local`` found there is not asked for again, so a ``--local`` command
    that downloads nothing builds no S3 client (~55 ms) before its first submit. A
    bucket it did not name is checked, and made, as before."""
    from novareel.client.local import LOCAL_BUCKET, connect_local

    def head_buckets() -> int:
        return int(emulator.stats()["requests"].get("HeadBucket", 0))

    s3_client.create_bucket(Bucket=LOCAL_BUCKET)
    found = connect_local(emulator.url, start=False)
    assert LOCAL_BUCKET in found.buckets
    before = head_buckets()
    client = found.client()
    assert head_buckets() == before
    assert not any(service == "s3" for service, _ in client._clients)  # never built
    assert client.ensure_output_bucket(LOCAL_BUCKET) is False and head_buckets() == before

    emulator.reset()  # no bucket at all now
    found = connect_local(emulator.url, start=False)
    assert found.buckets == frozenset()
    found.client()
    assert head_buckets() == 1
    assert emulator.stats()["requests"].get("CreateBucket") == 1
    assert s3_client.head_bucket(Bucket=LOCAL_BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_the_shared_loader_leaves_an_isolated_client_isolated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader is chosen when botocore would make its own (its ``data_path`` read
    then), not while the emulator's client is being set up: reading the config file
    earlier would keep the machine's settings in a client that must ignore them."""
    from novareel.client.aws import AwsClient

    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = eu-west-3\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    isolated = AwsClient(
        endpoint_url="http://127.0.0.1:9", access_key="a", secret_key="b", isolated=True
    )
    assert isolated.session.region_name is None and isolated.region == "us-east-1"
    assert AwsClient(access_key="a", secret_key="b").region == "eu-west-3"  # not isolated
