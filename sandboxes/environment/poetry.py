"""Poetry's dependency tables (`[tool.poetry.dependencies]`, `[tool.poetry.group.NAME.dependencies]`)
as PEP 508 requirements.

Poetry writes constraints its own way: `^1.2.3` is `>=1.2.3,<2.0.0`, `~1.2` is `>=1.2,<1.3`, a bare
`1.2.3` is `==1.2.3`, `*` is any version; the table form adds `extras` and `markers`. `python` is
the interpreter, not a package. A constraint PEP 440 cannot say (`||`), and a path, git or URL
dependency, is left out with a warning, as any line detection cannot use.
"""

from __future__ import annotations

from typing import Any

from packaging.version import InvalidVersion, Version

from sandboxes.environment.requirement_lines import Lines

OPERATORS = (">=", "<=", "!=", "==", "~=", ">", "<")


def poetry_requirements(table: Any, source: str) -> Lines:
    """The requirements of one poetry dependency table, with what was left out and why."""
    found = Lines()
    if not isinstance(table, dict):
        return found
    for name, spec in table.items():
        if name.lower() == "python":
            continue
        if isinstance(spec, list):  # several constraints, each for some markers: the first one
            spec = spec[0] if spec else "*"
        extras, markers, version = [], None, spec
        if isinstance(spec, dict):
            if any(key in spec for key in ("path", "git", "url", "file")):
                found.skip(source, f"{name} = {spec}", "a path, git or URL dependency")
                continue
            extras, markers, version = spec.get("extras", []), spec.get("markers"), spec.get("version", "*")
        try:
            specifier = poetry_specifier(str(version))
        except ValueError as exc:
            found.skip(source, f"{name} = {version!r}", str(exc))
            continue
        extra = f"[{','.join(extras)}]" if extras else ""
        found.add(source, f"{name}{extra}{specifier}" + (f"; {markers}" if markers else ""))
    return found


def poetry_specifier(constraint: str) -> str:
    """A poetry version constraint as a PEP 440 specifier (`^1.2` -> `>=1.2,<2`); ValueError when it cannot be."""
    if "||" in constraint:
        raise ValueError("an `||` constraint has no PEP 440 form")
    parts = [part.strip() for part in constraint.split(",") if part.strip() not in ("", "*")]
    return ",".join(_one(part) for part in parts)


def _one(part: str) -> str:
    if part.startswith("^"):
        release = _release(part[1:])
        first = next((index for index, number in enumerate(release) if number), len(release) - 1)
        return f">={part[1:].strip()},<{_bump(release, first)}"
    if part.startswith("~") and not part.startswith("~="):
        release = _release(part[1:])
        return f">={part[1:].strip()},<{_bump(release, min(1, len(release) - 1))}"
    if part.startswith(OPERATORS):
        return part.replace(" ", "")
    if part.endswith(".*"):
        return f"=={part}"
    _release(part)
    return f"=={part}"


def _release(text: str) -> tuple[int, ...]:
    try:
        return Version(text.strip()).release
    except InvalidVersion:
        raise ValueError(f"not a version: {text.strip()!r}") from None


def _bump(release: tuple[int, ...], index: int) -> str:
    """The version after `release` at position `index`: (0, 2, 3) at 1 is `0.3`."""
    return ".".join(str(number) for number in (*release[:index], release[index] + 1))
