"""The Dockerfile's stages as data, so that tests read what an image copies from the Dockerfile
itself (and cannot drift from it).

Only the forms the Dockerfile uses are understood (``FROM image AS name``, ``WORKDIR``,
``COPY src... dest`` from the build context); anything else among them is a ``ValueError``, so a
new form fails the tests loudly instead of being misread.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    name: str
    parent: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Copy:
    """One source of a ``COPY``: a file or directory of the build context, and where it lands,
    relative to the image's ``WORKDIR``."""

    source: Path
    target: PurePosixPath


def stages(text: str | None = None) -> dict[str, Stage]:
    text = DOCKERFILE.read_text() if text is None else text
    logical = text.replace("\\\n", " ")
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            words = args.split()
            if len(words) != 3 or words[1].upper() != "AS":
                raise ValueError(f"unnamed stage: {line}")
            current = Stage(name=words[2], parent=words[0])
            found[current.name] = current
        elif current is None:
            raise ValueError(f"instruction before FROM: {line}")
        else:
            current.instructions.append((instruction, args.strip()))
    return found


def chain(target: str, all_stages: dict[str, Stage] | None = None) -> list[Stage]:
    """``target`` and the stages it is built FROM, the first one first."""
    all_stages = stages() if all_stages is None else all_stages
    result: list[Stage] = []
    name: str | None = target
    while name in all_stages:
        stage = all_stages[name]
        result.insert(0, stage)
        name = stage.parent
    if not result:
        raise ValueError(f"no stage {target!r}")
    return result


def copies(target: str) -> list[Copy]:
    """Every path the ``target`` image copies from the build context, its base stages included."""
    workdir = PurePosixPath("/")
    result: list[Copy] = []
    for stage in chain(target):
        for instruction, args in stage.instructions:
            if instruction == "WORKDIR":
                workdir = workdir / args
            elif instruction in ("COPY", "ADD"):
                result.extend(_copy(instruction, args, workdir))
    return result


def _copy(instruction: str, args: str, workdir: PurePosixPath) -> list[Copy]:
    if instruction == "ADD" or args.startswith("["):
        raise ValueError(f"unsupported form: {instruction} {args}")
    words = [w for w in shlex.split(args) if not w.startswith("--chown") and w != "--link"]
    if any(w.startswith("--") for w in words):
        raise ValueError(f"unsupported COPY flag (only the build context is read): {args}")
    *sources, dest = words
    destination = workdir / dest
    if ".." in destination.parts or not destination.is_relative_to(workdir):
        raise ValueError(f"COPY outside WORKDIR {workdir}: {args}")
    into_directory = dest.endswith("/") or dest == "." or len(sources) > 1
    result = []
    for src in sources:
        if any(c in src for c in "*?["):
            raise ValueError(f"wildcards are not supported: {args}")
        source = ROOT / src
        relative = destination.relative_to(workdir)
        if source.is_file() and into_directory:
            relative = relative / source.name
        result.append(Copy(source=source, target=relative))
    return result
