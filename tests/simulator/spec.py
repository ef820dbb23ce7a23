"""The vendored DevOps API v2 spec (``data/astra-devops-api-v2.yaml``) and ways to look into it."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

PATH = Path(__file__).parent / "data" / "astra-devops-api-v2.yaml"
# The upstream file (datastax/astra-client-go, tag v2.3.0) the body below the header must equal.
UPSTREAM_SHA256 = "68ba6e37d3cf012bb6e0170baf00d8cccbb73eb06b57f740c5580c769721cfff"
UPSTREAM_SIZE = 150_724
METHODS = ("get", "put", "post", "delete", "patch")
_PARAM = re.compile(r"\{[^}/]+\}")


def body_bytes() -> bytes:
    """The file without its header comment (the leading lines starting with ``#``)."""
    lines = PATH.read_bytes().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if not line.startswith(b"#"))
    return b"".join(lines[start:])


@functools.cache
def load() -> dict[str, Any]:
    """The parsed spec."""
    spec = yaml.safe_load(PATH.read_text())
    assert isinstance(spec, dict)
    return spec


def shape(template: str) -> str:
    """A path template with its parameter names erased: ``/v2/databases/{}``."""
    return _PARAM.sub("{}", template)


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of the spec, keyed ``(METHOD, path template)``."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path, item in load()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                found[(method.upper(), path)] = operation
    return found
