"""``novareel gallery``: a static web page of every job in the ledger.

Reads only the ledger and local files; the one AWS-shaped step, a presigned link
for a video that was never downloaded, is signed locally (no request is sent). The
page, its posters and links go to one folder; ``--serve`` serves it on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from novareel.cli.app import JSON_OUTPUT, app, console, emit_json, err_console, handle_errors
from novareel.cli.common import CREDENTIALS_FILE, PROFILE
from novareel.foundation.errors import InvalidRequestError, Problem

if TYPE_CHECKING:
    from novareel.gallery import Presigner

DEFAULT_OUT = Path("novareel-gallery")


def _e(value: object) -> str:
    from rich.markup import escape

    return escape(str(value))


def _presigner(profile: str | None, credentials_file: str | None, expires: int) -> Presigner:
    """Links for videos left in S3: signed with the job's own endpoint and region.

    A job that ran on the local emulator is signed for that emulator with its dummy
    credentials (real ones are never sent to a local endpoint); any other job with
    boto3's usual credentials (``--profile``, environment, SSO...).
    """
    from novareel.client import AwsClient
    from novareel.client.local import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

    clients: dict[tuple[str | None, str | None], AwsClient] = {}

    def presign(record: Any, uri: Any, region: str | None) -> str:
        endpoint = record.endpoint if record.ran_locally else None
        key = (endpoint, region)
        if key not in clients:
            if endpoint is not None:
                clients[key] = AwsClient(
                    region=region or "us-east-1",
                    endpoint_url=endpoint,
                    access_key=LOCAL_ACCESS_KEY,
                    secret_key=LOCAL_SECRET_KEY,
                )
            else:
                clients[key] = AwsClient(
                    profile=profile, credentials_file=credentials_file, region=region
                )
        return clients[key].presign_get(uri, expires, region=region)

    return presign


@app.command("gallery")
@handle_errors()
def gallery_command(
    out: Path = typer.Option(
        DEFAULT_OUT, "--out", "-o", help="Folder to write index.html, assets/ and media/ into."
    ),
    open_browser: bool = typer.Option(
        False, "--open", help="Open the page in the default web browser."
    ),
    serve: bool = typer.Option(
        False,
        "--serve",
        help="Serve the folder on 127.0.0.1 (only) until Ctrl-C, and print its URL.",
    ),
    port: int = typer.Option(
        0, "--port", help="Port for --serve (default 0: any free port).", min=0, max=65535
    ),
    contact_sheets: bool = typer.Option(
        False,
        "--contact-sheets",
        help="Make a contact sheet for each local video that has none beside it "
        "(decodes each video once; reused while the video is unchanged).",
    ),
    presign: bool = typer.Option(
        True,
        "--presign/--no-presign",
        help="For a finished video that is only in S3, embed a presigned link "
        "(signed locally, needs credentials); --no-presign shows no player for it.",
    ),
    link_hours: float = typer.Option(
        12.0, "--link-hours", help="How long presigned links work (hours, at most 168)."
    ),
    profile: str | None = PROFILE,
    credentials_file: str | None = CREDENTIALS_FILE,
    json_output: bool = JSON_OUTPUT,
) -> None:
    """Write a web page of every job: players, posters, prompts, failures, costs.

    Plain HTML, CSS and a little JavaScript in one folder; it loads nothing from
    any other host and works offline. Filters by status, model and batch.
    """
    import webbrowser

    from novareel.gallery import build_gallery, serve_gallery
    from novareel.gallery.build import file_url
    from novareel.ledger import Ledger

    if not 0 < link_hours <= 168:
        raise InvalidRequestError(
            Problem("link_hours", "must be more than 0 and at most 168", value=link_hours)
        )
    presigner = (
        _presigner(profile, credentials_file, max(1, int(link_hours * 3600))) if presign else None
    )
    with Ledger.open_default() as ledger:
        records = ledger.list_jobs()
        batches = {b.id: b for b in ledger.list_batches()}
        reviews = ledger.latest_reviews([r.id for r in records])  # review section
    result = build_gallery(
        records,
        out,
        batches=batches,
        reviews=reviews,
        presigner=presigner,
        presign_note="--no-presign was given" if not presign else None,
        contact_sheets=contact_sheets,
    )
    for note in result.notes:
        err_console.print(f"[yellow]note:[/] {_e(note)}", highlight=False)

    def ready(url: str) -> None:
        if json_output:
            emit_json({**result.to_dict(), "url": url})
        else:
            console.print(
                f"serving {_e(result.out_dir)} at {url} (Ctrl-C to stop)", highlight=False
            )
        if open_browser:
            webbrowser.open(url)

    if serve:
        serve_gallery(result.out_dir, port, on_ready=ready)
        return
    if json_output:
        emit_json({**result.to_dict(), "url": None})
    else:
        console.print(
            f"wrote {_e(result.index)}: {result.cards} card{'s' if result.cards != 1 else ''}, "
            f"{result.players} with a player",
            highlight=False,
            soft_wrap=True,
        )
    if open_browser:
        webbrowser.open(file_url(result.index))
