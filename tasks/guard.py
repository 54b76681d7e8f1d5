"""Flow parameters that name a path or a folder are checked before any work, whoever calls
the flow: the CLI, `prefect deployment run`, or anything else that reaches the Prefect API.

Paths (`root`, `params_path`, `data.path`) must lie inside the project — the directory the
flow runs in — or inside a folder the operator allowed in GAN_ALLOWED_ROOTS (separated by
`:`). Names that become folders (a sweep's `name`) are slugs. Each refusal is one line
naming the parameter. The CLI's user is the operator: `python -m flows.<name> --root DIR`
allows DIR (and the --params file and a --set data.path) for that command.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from gan_core.errors import ParameterError

ALLOWED_ENV = "GAN_ALLOWED_ROOTS"
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def allowed_roots() -> list[Path]:
    extra = [Path(p).expanduser().resolve() for p in os.environ.get(ALLOWED_ENV, "").split(os.pathsep) if p.strip()]
    return [Path.cwd().resolve(), *extra]


def allow(*paths: str | Path) -> None:
    """Add folders to this process's allowed roots (the operator's own command line)."""
    entries = [p for p in os.environ.get(ALLOWED_ENV, "").split(os.pathsep) if p]
    os.environ[ALLOWED_ENV] = os.pathsep.join([*entries, *(str(Path(p).expanduser().resolve()) for p in paths)])


def check_inside(param: str, path: str | Path) -> Path:
    """`path` resolved (symlinks and `..` followed) when it lies in an allowed root."""
    resolved = Path(path).expanduser().resolve()
    roots = allowed_roots()
    if not any(resolved == r or resolved.is_relative_to(r) for r in roots):
        raise ParameterError(
            f"{param}: '{path}' lies outside the project ({roots[0]}); "
            f"allowed: a path inside it, or inside a folder listed in {ALLOWED_ENV}"
        )
    return resolved


def check_slug(param: str, value: str) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value) or ".." in value:
        raise ParameterError(
            f"{param}: {value!r} is not allowed; use 1-100 letters, digits, '-', '_' or '.' (no '/', no '..')"
        )
    return value


def check_flow_paths(root: str | Path, params_path: str | Path, overrides: dict[str, Any] | None = None) -> None:
    """A flow's path parameters, and a `data.path` among its overrides."""
    check_inside("root", root)
    check_inside("params_path", params_path)
    for key, value in (overrides or {}).items():
        if key == "data.path" or (key == "data" and isinstance(value, dict) and "path" in value):
            check_inside("data.path", value if key == "data.path" else value["path"])
