"""One truth through every door (issue 19, item 7).

The same request, asked of novareel through each of its doors, must get the same
answer: the same verdict (accepted or refused), the same problems (by field), the same
StartAsyncInvoke request and the same price. Hypothesis makes the requests, valid and
invalid, for both families (Nova Reel's tasks, durations and seeds; Luma Ray 2's
aspect ratio, resolution, duration, loop and keyframes), with real PNG/JPEG files of
right and wrong sizes, inline shots and small storyboard files, and an explicit
region now and then. Each goes through:

1. ``novareel generate --dry-run --json`` (the command line, in-process);
2. the Python API: ``compose_requests(RequestSpec(...))`` and ``VideoGenerator.dry_run``,
   and, where the input names one request class directly, that class
   (``TextVideo``, ``MultiShotAutomated``, ``MultiShotManual``, ``RayVideo``);
3. the MCP server's ``estimate_cost`` tool (its method, no stdio);
4. a one-item batch file, ``novareel batch FILE --dry-run --json``.

Dry runs send nothing (no emulator, no network). Each door names a problem by what
the person typed there, derived from the option's one declaration
(:class:`novareel.models.options.Option`): ``--duration`` on the command line,
``items[1].duration`` in a batch file, ``duration`` in Python and MCP (never the
request's other name for it, ``duration_seconds``); :func:`_problems` reads each back
through the declarations, and checks that spelling, before comparing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from novareel import (
    InvalidRequestError,
    MultiShotAutomated,
    MultiShotManual,
    RayVideo,
    RequestSpec,
    Shot,
    ShotSpec,
    TextVideo,
    VideoGenerator,
)
from novareel.cli import _register, app
from novareel.mcp_server.tools import AgentTools, ServerSettings, VideoSpec
from novareel.models import request_options
from novareel.requests.compose import compose_requests

_register()

OUTPUT = "s3://my-bucket/v/"

#: The images every case may name, by kind: (size, format) or a special file.
IMAGES: dict[str, tuple[tuple[int, int], str] | None] = {
    "hd.png": ((1280, 720), "PNG"),
    "hd.jpg": ((1280, 720), "JPEG"),
    "small.png": ((640, 480), "PNG"),
    "portrait.jpg": ((720, 1280), "JPEG"),
    "not-an-image.png": None,  # text with an image's name
}
MISSING = "missing.png"


@dataclass(frozen=True)
class Case:
    """One request as a person would type it (``None``: not given)."""

    model: str
    prompt: str | None = None
    task: str | None = None
    duration: int | None = None
    seed: int | None = None
    image: str | None = None
    end_image: str | None = None
    fit: str | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    loop: bool = False
    shots: tuple[tuple[str, str | None], ...] = ()
    storyboard: tuple[tuple[str, str | None], ...] | None = None
    region: str | None = None
    output: str = OUTPUT


@dataclass
class Answer:
    """What one door said, in the library's words."""

    door: str
    accepted: bool
    problems: set[tuple[str, str]]
    requests: list[dict[str, Any]]
    price: float | None
    notices: frozenset[str] = frozenset()


# ------------------------------------------------------------------------ strategies

_GOOD_PROMPTS = ["A lighthouse on a cliff at dawn", "a fox"]
_BAD_PROMPTS = ["x" * 513, "  "]
_GOOD_TEXTS = ["a harbour at dusk", "a paper boat"]
_BAD_TEXTS = ["", "y" * 513]
#: images every model reads as they are (Luma Ray 2 takes any size)
_NOVA_IMAGES = ["hd.png", "hd.jpg"]
_ANY_SIZE = ["hd.png", "hd.jpg", "small.png", "portrait.jpg"]
_BAD_IMAGES = ["not-an-image.png", MISSING]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Half of the cases keep to each family's rules (mostly accepted: the requests
    and prices are compared); the other half mix in wrong values anywhere (refused:
    the problems are compared)."""
    model = draw(st.sampled_from(["nova-reel", "luma-ray2"]))
    ray = model == "luma-ray2"
    valid = draw(st.booleans())

    def pick(good: list[Any], bad: list[Any]) -> Any:
        return draw(st.sampled_from(good if valid else good + bad))

    def maybe(good: list[Any], bad: list[Any]) -> Any:
        return draw(st.one_of(st.none(), st.sampled_from(good if valid else good + bad)))

    def rarely() -> bool:  # about one in eight, only among the wrong cases
        return not valid and draw(st.integers(0, 7)) == 0

    shape = draw(st.sampled_from(["prompt", "prompt", "shots", "storyboard"]))
    texts = st.lists(st.just(None), min_size=2 if valid else 1, max_size=3)
    shots: tuple[tuple[str, str | None], ...] = ()
    board = None
    images = _ANY_SIZE if ray else _NOVA_IMAGES
    if shape == "shots":
        # --shot takes text only on the command line (a shot's image is a storyboard's)
        shots = tuple((pick(_GOOD_TEXTS, _BAD_TEXTS), None) for _ in draw(texts))
    elif shape == "storyboard":
        board = tuple(
            (pick(_GOOD_TEXTS, _BAD_TEXTS), maybe(images, _BAD_IMAGES)) for _ in draw(texts)
        )
    prompt = pick(_GOOD_PROMPTS, _BAD_PROMPTS) if shape == "prompt" or rarely() else None
    task = seed = aspect = resolution = end_image = None
    loop = False
    if ray:
        duration = maybe([5, 9], [6, 7])
        aspect = maybe(["16:9", "9:16", "1:1", "21:9", "4:3", "3:4", "9:21"], ["2:1"])
        resolution = maybe(["540p", "720p"], ["4k"])
        loop = draw(st.booleans())
        if shape == "prompt" or rarely():  # a storyboard's images are its shots'
            end_image = maybe(_ANY_SIZE, _BAD_IMAGES)
        task = "text" if rarely() else None
        seed = 7 if rarely() else None
    else:
        if shape == "prompt":
            task = pick([None, "text", "auto"], ["manual", "story"])
            durations = {None: [None, 6, 12, 18, 120], "text": [None, 6], "auto": [12, 18, 120]}
            duration = pick(durations.get(task, [None]), [7, 5, 240, 24, 30])
        else:
            task = pick([None, "manual"], ["text", "auto"])
            duration = pick([None], [6, 12])
        seed = maybe([0, 7, 2147483646], [2147483647, -1])
        if rarely():
            aspect, resolution, loop = "9:16", "540p", True
        end_image = draw(st.sampled_from(_NOVA_IMAGES)) if rarely() else None
    image = None
    if shape == "prompt" or rarely():
        image = maybe(images, _BAD_IMAGES if valid else [*_BAD_IMAGES, "small.png"])
    fit = maybe(["crop", "pad"], ["bogus"]) if draw(st.booleans()) else None
    region = maybe(["us-west-2"] if ray else ["us-east-1"], ["eu-west-1", "us-west-2", "us-east-1"])
    return Case(
        model=model,
        prompt=prompt,
        task=task,
        duration=duration,
        seed=seed,
        image=image,
        end_image=end_image,
        fit=fit,
        aspect_ratio=aspect,
        resolution=resolution,
        loop=loop,
        shots=shots,
        storyboard=board,
        region=region,
    )


# --------------------------------------------------------------------------- files


def _make_images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, made in IMAGES.items():
        path = folder / name
        if made is None:
            path.write_text("not an image\n", encoding="utf-8")
            continue
        size, kind = made
        Image.new("RGB", size, (200, 40, 40)).save(path, kind)


def _path(folder: Path, name: str | None) -> str | None:
    return None if name is None else str(folder / name)


def _board_file(folder: Path, case: Case) -> str | None:
    """The case's storyboard as a small YAML file (named by its content)."""
    if case.storyboard is None:
        return None
    shots = [
        {"text": text, **({"image": _path(folder, image)} if image else {})}
        for text, image in case.storyboard
    ]
    text = yaml.safe_dump({"shots": shots}, sort_keys=False)
    path = folder / f"board-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _keys(folder: Path, case: Case) -> dict[str, Any]:
    """The case as batch-file / MCP keys (each option's declared name)."""
    keys: dict[str, Any] = {
        "prompt": case.prompt,
        "model_id": case.model,
        "task": case.task,
        "duration": case.duration,
        "seed": case.seed,
        "image": _path(folder, case.image),
        "end_image": _path(folder, case.end_image),
        "fit": case.fit,
        "aspect_ratio": case.aspect_ratio,
        "resolution": case.resolution,
        "loop": True if case.loop else None,
        "storyboard": _board_file(folder, case),
    }
    if case.shots:
        keys["shots"] = [
            {"text": text, **({"image": _path(folder, image)} if image else {})}
            for text, image in case.shots
        ]
    return {k: v for k, v in keys.items() if v is not None}


# ---------------------------------------------------------------------------- doors


#: How each door spells a declared option, from the one declaration: the command line
#: by its flag (``--duration``), a batch item by its key under the item
#: (``items[1].duration``), Python and the MCP server by its name (``duration``).
_SPELLING: dict[str, Any] = {
    "cli": lambda o: o.cli_flag,
    "storyboard": lambda o: o.cli_flag,
    "batch": lambda o: f"items[1].{o.file_key}",
    "python": lambda o: o.name,
    "classes": lambda o: o.name,
    "mcp": lambda o: o.name,
}


def _problems(door: str, problems: Any) -> set[tuple[str, str]]:
    """A door's problems by the option each is about, read back through the
    declarations: a problem about a declared option must be spelled as that door
    spells it (``--duration`` / ``items[1].duration`` / ``duration``), never by another
    name (``duration_seconds``). Problems about something else (a shot, an image's
    format, the output location) keep their field; a batch item's are under the item,
    and a storyboard's under its key there (``items[1].storyboard.shots[2].image``,
    where the file says ``shots[2].image``)."""
    declared = request_options()
    spelled = {_SPELLING[door](o): o.name for o in declared}
    others = {alias for o in declared for alias in o.fields}
    found = set()
    for p in problems:
        item = p if isinstance(p, dict) else p.to_dict()
        field, said = item["field"], item.get("flag") or item["field"]
        assert field not in others, (door, item)  # the option's name, not another
        if said in spelled:
            name = spelled[said]
            assert field in (name, said), (door, item)
        elif door in ("cli", "storyboard"):
            name = field  # a shot's (--shot/--storyboard (shot 2)) or a nested field
        elif door == "batch" and field.startswith("items[1]."):
            name = field.removeprefix("items[1].").removeprefix("storyboard.")
            assert name not in {o.name for o in declared} - {o.file_key for o in declared}
        else:  # the command's own (a batch's --region) or not about an option
            name = field
        found.add((name, item["message"]))
    return found


def _sent(requests: Any) -> list[dict[str, Any]]:
    """The StartAsyncInvoke requests, without the token (a placeholder everywhere)."""
    return [{k: v for k, v in r.items() if k != "clientRequestToken"} for r in requests]


#: Where the job runs, said by a door that holds a client (the Python API's
#: ``VideoGenerator.dry_run``) before the dry run, and by the others when they submit.
_REGION_NOTICE = re.compile(r"^no AWS region configured: |\(the region configured for AWS")


def _notices(notices: Any) -> frozenset[str]:
    return frozenset(n for n in notices if not _REGION_NOTICE.search(n))


def cli_door(folder: Path, case: Case) -> Answer:
    keys = _keys(folder, case)
    args = ["generate"]
    if "prompt" in keys:
        args.append(keys.pop("prompt"))
    for shot in keys.pop("shots", []):
        args += ["--shot", shot["text"]]
    for name, value in keys.items():
        flag = "--" + name.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    if case.region:
        args += ["--region", case.region]
    args += ["--dry-run", "--json", "--output-uri", case.output]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    payload = json.loads(result.stdout)
    if "error" in payload:
        return Answer("cli", False, _problems("cli", payload["error"]["problems"]), [], None)
    jobs = payload.get("jobs") or [payload]
    return Answer(
        "cli",
        result.exit_code == 0,
        _problems("cli", payload.get("problems", [])),
        _sent(j["start_async_invoke"] for j in jobs),
        payload["estimated_cost_usd"],
        _notices(payload["notices"]),
    )


def _spec_kwargs(folder: Path, case: Case) -> dict[str, Any]:
    keys = _keys(folder, case)
    if "shots" in keys:
        keys["shots"] = [ShotSpec(s["text"], s.get("image")) for s in keys["shots"]]
    return keys


def python_door(folder: Path, case: Case) -> Answer:
    """What a Python user writes: one spec, the builder, then the dry run."""
    keys = _spec_kwargs(folder, case)
    prompt = keys.pop("prompt", None)
    built = compose_requests(RequestSpec(prompt, **keys))
    if built.problems:
        return Answer("python", False, _problems("python", built.problems), [], None)
    with VideoGenerator(region=case.region, ledger=False) as api:
        try:
            plan = api.dry_run(list(built.requests), case.output)
        except InvalidRequestError as exc:
            return Answer("python", False, _problems("python", exc.problems), [], None)
    sent = _sent(plan.start_async_invoke)
    return Answer("python", True, set(), sent, plan.estimated_cost_usd, _notices(plan.notices))


def class_door(folder: Path, case: Case) -> Answer | None:
    """The request classes, for inputs that name one directly (None otherwise)."""
    image = _path(folder, case.image)
    kwargs: dict[str, Any] = {}
    if case.model == "luma-ray2":
        if case.shots or case.storyboard or case.task or case.seed is not None or case.fit:
            return None
        if case.prompt is None:
            return None
        for name in ("aspect_ratio", "resolution", "duration"):
            if getattr(case, name) is not None:
                kwargs[name] = getattr(case, name)
        make: Any = RayVideo
        kwargs.update(
            prompt=case.prompt,
            loop=case.loop,
            start_frame=image,
            end_frame=_path(folder, case.end_image),
        )
    else:
        if case.storyboard or case.fit or case.aspect_ratio or case.resolution or case.loop:
            return None
        if case.end_image:
            return None
        if case.seed is not None:
            kwargs["seed"] = case.seed
        if case.task == "text" and case.prompt is not None and not case.shots:
            make = TextVideo
            kwargs.update(prompt=case.prompt, image=image)
            if case.duration is not None:
                kwargs["duration"] = case.duration
        elif case.task == "auto" and case.prompt is not None and not case.shots:
            if image is not None or case.duration is None:
                return None  # the class's default length is not --task auto's (required)
            make = MultiShotAutomated
            kwargs.update(prompt=case.prompt, duration=case.duration)
        elif case.task == "manual" and case.shots and case.prompt is None:
            if image is not None or case.duration is not None:
                return None
            make = MultiShotManual
            kwargs["shots"] = [Shot(t, _path(folder, i)) for t, i in case.shots]
        else:
            return None
    try:
        request = make(**kwargs)
    except InvalidRequestError as exc:
        return Answer("classes", False, _problems("classes", exc.problems), [], None)
    with VideoGenerator(region=case.region, ledger=False) as api:
        try:
            plan = api.dry_run(request, case.output)
        except InvalidRequestError as exc:
            return Answer("classes", False, _problems("classes", exc.problems), [], None)
    sent = _sent(plan.start_async_invoke)
    return Answer("classes", True, set(), sent, plan.estimated_cost_usd, _notices(plan.notices))


def mcp_door(folder: Path, case: Case) -> Answer:
    tools = AgentTools(ServerSettings(root=folder, region=case.region, output_uri=case.output))
    keys = _spec_kwargs(folder, case)
    prompt = keys.pop("prompt", None)
    try:
        quote = tools.estimate_cost(VideoSpec(prompt, **keys))
    except InvalidRequestError as exc:
        return Answer("mcp", False, _problems("mcp", exc.problems), [], None)
    return Answer(
        "mcp",
        True,
        set(),
        _sent(j["start_async_invoke"] for j in quote["jobs"]),
        quote["estimated_cost_usd"],
        _notices(quote["notices"]),
    )


def batch_door(folder: Path, case: Case) -> Answer:
    item = _keys(folder, case)
    text = yaml.safe_dump([item], sort_keys=False)
    path = folder / f"batch-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yaml"
    path.write_text(text, encoding="utf-8")
    args = ["batch", str(path), "--dry-run", "--json", "--output-uri", case.output]
    if case.region:
        args += ["--region", case.region]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    payload = json.loads(result.stdout)
    if "error" in payload:
        return Answer("batch", False, _problems("batch", payload["error"]["problems"]), [], None)
    return Answer(
        "batch",
        result.exit_code == 0,
        set(),
        _sent(i["start_async_invoke"] for i in payload["items"]),
        payload["estimated_cost_usd"],
        _notices([*payload["notices"], *(n for i in payload["items"] for n in i["notices"])]),
    )


def storyboard_door(folder: Path, case: Case) -> Answer | None:
    """``novareel storyboard check FILE --json`` with the options it takes (None for a
    case it cannot ask: not a storyboard, or options only generate takes)."""
    board = _board_file(folder, case)
    only_generate = (case.prompt, case.task, case.image, case.end_image, case.fit, case.region)
    if board is None or any(v is not None for v in only_generate) or case.loop:
        return None
    args = ["storyboard", "check", board, "--model-id", case.model, "--json"]
    for name in ("duration", "resolution", "aspect_ratio", "seed"):
        value = getattr(case, name)
        if value is not None:
            args += ["--" + name.replace("_", "-"), str(value)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    report = json.loads(result.stdout)
    if "error" in report:
        return Answer(
            "storyboard", False, _problems("storyboard", report["error"]["problems"]), [], None
        )
    accepted = result.exit_code == 0 and report["ok"]
    price = report["estimated_cost_usd"] if accepted else None
    return Answer("storyboard", accepted, _problems("storyboard", report["problems"]), [], price)


# ---------------------------------------------------------------------------- tests


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The images every case names (the MCP server's root too)."""
    made = tmp_path / "inputs"
    _make_images(made)
    return made.resolve()


def _compare(answers: list[Answer]) -> None:
    first = answers[0]
    for other in answers[1:]:
        where = f"{first.door} vs {other.door}"
        assert other.accepted == first.accepted, (where, first, other)
        assert other.problems == first.problems, (where, first.problems, other.problems)
        if first.accepted:  # a refused request has no price (the CLI still shows it)
            assert other.requests == first.requests, (where, first.requests, other.requests)
            assert other.price == first.price, (where, first.price, other.price)
            assert other.notices == first.notices, (where, first.notices, other.notices)


def _doors(folder: Path, case: Case) -> list[Answer]:
    answers = [cli_door(folder, case), python_door(folder, case)]
    classes = class_door(folder, case)
    if classes is not None:
        answers.append(classes)
    answers += [mcp_door(folder, case), batch_door(folder, case)]
    return answers


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
def test_every_door_gives_the_same_answer(folder: Path, case: Case) -> None:
    answers = _doors(folder, case)
    checked = storyboard_door(folder, case)
    cli = answers[0]
    if checked is not None:
        # the fifth door, refused files included (their schema's problems and their
        # images' at once): its verdict, problems and price
        event(f"storyboard check: {'accepted' if checked.accepted else 'refused'}")
        assert (checked.accepted, checked.problems) == (cli.accepted, cli.problems), (
            checked,
            cli,
        )
        if cli.accepted:
            assert checked.price == cli.price, (checked, cli)
    # --hypothesis-show-statistics: how many were accepted, and by how many doors
    event(f"{case.model}: {'accepted' if answers[0].accepted else 'refused'}")
    event(f"doors: {len(answers)}")
    _compare(answers)


@pytest.mark.parametrize(
    "board",
    [
        # one shot (2-20 needed) whose image cannot be read
        (("a harbour at dusk", "not-an-image.png"),),
        # an empty text beside a missing image
        (("", "hd.png"), ("a paper boat", MISSING)),
    ],
)
@pytest.mark.parametrize("model", ["luma-ray2", "nova-reel"])
def test_a_storyboard_refused_as_a_whole_reads_the_same_in_check_and_generate(
    folder: Path, model: str, board: tuple[tuple[str, str | None], ...]
) -> None:
    """A storyboard its schema refuses (the shot count, an empty text) whose images are
    wrong too: every door names both at once (``generate``, the Python builder, the MCP
    server and a batch item used to stop at the file and never read its images, while
    ``storyboard check`` read them)."""
    case = Case(model, storyboard=board)
    answers = _doors(folder, case)
    checked = storyboard_door(folder, case)
    assert checked is not None and not checked.accepted
    fields = {name for name, _ in checked.problems}
    assert any(name.endswith(".image") for name in fields), checked.problems
    assert any(not name.endswith(".image") for name in fields), checked.problems
    _compare([checked, *answers])


@pytest.mark.parametrize(
    ("case", "option"),
    [
        (Case("nova-reel", storyboard=(("one", "not-an-image.png"),), seed=-1), "seed"),
        (Case("luma-ray2", storyboard=(("", None), ("two", MISSING)), duration=7), "duration"),
        (Case("luma-ray2", storyboard=(("one", None),), seed=3), "seed"),
    ],
)
def test_a_refused_storyboard_and_a_wrong_option_are_named_together(
    folder: Path, case: Case, option: str
) -> None:
    """A storyboard its schema refuses, given with a wrong option: the option's problem
    comes with the file's (a person fixes both in one pass), in every door."""
    answers = _doors(folder, case)
    checked = storyboard_door(folder, case)
    assert checked is not None
    names = {name for name, _ in checked.problems}
    assert option in names and any(name.startswith("shots") for name in names), names
    _compare([checked, *answers])


@pytest.mark.parametrize(
    "case",
    [
        Case("luma-ray2", prompt="a fox", region="eu-west-1"),
        Case("luma-ray2", prompt="a fox", duration=9, resolution="540p", loop=True,
             image="hd.png", end_image="portrait.jpg"),
        Case("nova-reel", prompt="a fox", task="text", duration=12),
        Case("nova-reel", prompt="a fox", task="auto", duration=25),
        Case("nova-reel", prompt="a fox", duration=18, seed=7),
        Case("nova-reel", prompt="a fox", image="hd.jpg", region="eu-west-1"),
        Case("nova-reel", prompt="a fox", image="small.png"),
        Case("nova-reel", prompt="a fox", image="small.png", fit="crop"),
        Case("nova-reel", storyboard=(("one", "hd.png"), ("two", None))),
        Case("luma-ray2", storyboard=(("one", "hd.png"), ("two", None)), duration=5),
        Case("luma-ray2", prompt="a fox", seed=7, aspect_ratio="2:1"),
        Case("nova-reel", shots=(("one", None), ("two", None)), region="us-west-2"),
        # a seed beside a storyboard is the item's, not the file's (batch said it twice)
        Case("nova-reel", storyboard=(("one", None), ("two", None)), seed=-1),
        # Pillow's reason without the in-memory file's address (different every call)
        Case("nova-reel", prompt="a fox", image="not-an-image.png"),
        # a fit that changed nothing is not part of what is sent (only batch showed it)
        Case("nova-reel", prompt="a fox", image="hd.png", fit="crop"),
        Case("luma-ray2", prompt="a fox", image="small.png", fit="pad", region="us-west-2"),
        # an output location given but wrong: the MCP estimate quoted it
        Case("nova-reel", prompt="a fox", output="s3://Bad_Bucket/v/"),
        Case("luma-ray2", prompt="a fox", output="https://my-bucket/v/"),
    ],
)  # fmt: skip
def test_chosen_cases_agree(folder: Path, case: Case) -> None:
    """The cases the issue names (and their neighbours), every time, not by chance."""
    _compare(_doors(folder, case))


@pytest.mark.parametrize(
    ("case", "fields"),
    [
        (Case("nova-reel", prompt="a fox", duration=7, output="s3://Bad_Bucket/v/"),
         {"duration", "output_uri"}),
        (Case("luma-ray2", prompt="a fox", seed=7, image=MISSING, output="http://b/v/"),
         {"seed", "image", "output_uri"}),
    ],
)  # fmt: skip
def test_every_problem_at_once_with_the_output_location(
    folder: Path, case: Case, fields: set[str]
) -> None:
    """A wrong request sent to a wrong output location: the doors that take both in
    one call (the command line, a batch item, the MCP tool) name both. (The Python
    API takes them in two steps: the request is built, and refused, before any
    output location is given to ``dry_run``.)"""
    answers = [cli_door(folder, case), mcp_door(folder, case), batch_door(folder, case)]
    assert {name for name, _ in answers[0].problems} == fields
    _compare(answers)


def test_a_dry_run_refuses_an_explicit_region_that_does_not_offer_the_model() -> None:
    """``generate --dry-run --region eu-west-1 --model-id luma-ray2`` said OK while the
    real run refuses (Luma Ray 2 runs in us-west-2 only)."""

    def dry_run(region: str) -> Any:
        return CliRunner().invoke(
            app,
            ["generate", "a fox", "--model-id", "luma-ray2", "--region", region,
             "--dry-run", "--json", "--output-uri", OUTPUT],
        )  # fmt: skip

    result = dry_run("eu-west-1")
    assert result.exit_code == 2, result.output
    problems = json.loads(result.stdout)["problems"]
    assert [(p["flag"], p["field"], p["value"]) for p in problems] == [
        ("--region", "region", "eu-west-1")
    ]
    assert "us-west-2" in problems[0]["limit"]
    # the region that offers it is fine
    fine = dry_run("us-west-2")
    assert fine.exit_code == 0, fine.output
