"""The image's install steps, run without Docker, and what they install started as the image.

The Dockerfile is read here (instructions, stages, ``.dockerignore``) and its build stage is
run as written, in a temporary directory standing in for the image's filesystem: the build
context is copied as ``COPY`` and ``.dockerignore`` select it, each ``RUN`` runs with
``/bin/sh -c`` in its ``WORKDIR`` with the stage's ``ENV``, and the paths the Dockerfile names
(``IMAGE_PATHS``) are moved under the temporary directory. Then the final stage: its ``ENV``,
the venv it copies (at the same path, as venvs cannot move), its ``ENTRYPOINT`` found on its
``PATH`` and run from an empty working directory with no source tree anywhere on the path;
``--help`` first, then the operator itself against the test cluster, until the probe the Helm
chart configures answers 200, then SIGTERM, as the kubelet stops a pod.

What cannot be run without Docker, and is stood in for:
- the base image (``FROM``): the interpreter running these tests (as ``python`` on ``PATH``)
  stands in for the image's Python, and this machine's ``/bin/sh`` for its shell;
- the final stage's user (``RUN groupadd/useradd``, ``USER``): not created, the operator runs
  as the test's user, with the ``HOME`` the image gives it (``/nonexistent``);
- the read-only root the chart mounts: not enforced (root could write anyway);
- the network: dependencies come from the package index, as in ``docker build`` (the image
  pins none, so neither does this test), and the operator reaches the cluster over loopback.
A Dockerfile instruction this module does not know how to run fails the test, so a change to
the Dockerfile comes with a change here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from astra_operator.controlplane import plane
from tests.conftest import REPO, Cluster
from tests.e2e.conftest import Helm
from tests.e2e.test_chart import one, render
from tests.e2e.test_chart_install import container_env
from tests.integration.conftest import Sim

pytestmark = pytest.mark.integration

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
IMAGE_PATHS = ("/opt/venv", "/src")
"""The absolute paths the Dockerfile's steps use; each is moved under the test's directory."""
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""``PATH`` of the official python images."""
PASSED_THROUGH = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_CERT",
)
"""Where this machine's package index is, and how to reach it (docker build passes proxies
through too); nothing else of the test's environment reaches the steps."""


@dataclasses.dataclass
class Instruction:
    keyword: str
    args: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON (exec) form's words; None for the shell form."""
        if not self.args.startswith("["):
            return None
        words = json.loads(self.args)
        assert isinstance(words, list), self
        return [str(w) for w in words]


@dataclasses.dataclass
class Stage:
    base: str
    name: str | None
    steps: list[Instruction]


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions: comment lines dropped (inside continuations too), ``\\``
    continuations joined."""
    found: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        start = start or number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), args.strip(), start))
        pending, start = "", 0
    assert not pending, "the Dockerfile ends in a continuation"
    return found


def expand(value: str, env: dict[str, str]) -> str:
    """``$VAR`` and ``${VAR}``, as Docker substitutes them in ENV, WORKDIR, COPY and FROM."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), value)


def stages(text: str) -> list[Stage]:
    args: dict[str, str] = {}
    found: list[Stage] = []
    for step in instructions(text):
        if step.keyword == "ARG" and not found:
            name, _, default = step.args.partition("=")
            args[name] = default
        elif step.keyword == "FROM":
            words = step.args.split()
            assert len(words) in (1, 3), f"line {step.line}: FROM flags are not known here"
            assert len(words) == 1 or words[1].upper() == "AS", step
            found.append(Stage(expand(words[0], args), words[2] if len(words) == 3 else None, []))
        else:
            assert found, f"line {step.line}: {step.keyword} before FROM"
            found[-1].steps.append(step)
    return found


def env_pairs(step: Instruction) -> dict[str, str]:
    """An ``ENV k=v ...`` instruction's values, as written."""
    pairs = {}
    for word in shlex.split(step.args):
        name, eq, value = word.partition("=")
        assert eq, f"line {step.line}: only the ENV key=value form is known here"
        pairs[name] = value
    return pairs


def ignore_patterns(text: str) -> list[tuple[re.Pattern[str], bool]]:
    """``.dockerignore`` lines as (regex, is_exception), in order."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        glob = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = ""
        for token in re.findall(r"\*\*/|\*\*|\*|\?|\[[^]]*\]|[^*?[]+", glob):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, token if token.startswith("[") else re.escape(token)
            )
        patterns.append((re.compile(regex), exception))
    return patterns


def excluded(relative: str, patterns: list[tuple[re.Pattern[str], bool]]) -> bool:
    """Whether the build context leaves ``relative`` out: the last pattern matching it, or one
    of its parent directories, decides."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for regex, exception in patterns:
        if any(regex.fullmatch(c) for c in candidates):
            verdict = not exception
    return verdict


class Build:
    """The Dockerfile's stages run on ``root`` (a directory standing in for the filesystem)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stages = stages(DOCKERFILE.read_text())
        self.ignore = ignore_patterns(DOCKERIGNORE.read_text())
        self.base_bin = root / "base-image-bin"
        self.log: list[str] = []
        self.entrypoint: list[str] = []
        self.final_env: dict[str, str] = {}
        self.exposed: list[int] = []
        self.user: str | None = None

    def host(self, text: str) -> str:
        """``text`` with each of the image's paths moved under the root."""
        for path in IMAGE_PATHS:
            text = re.sub(rf"(?<![\w./-]){re.escape(path)}(?![\w.-])", str(self.root) + path, text)
        for path in re.findall(r"(?<![\w.$/-])/[\w./-]+", text):
            assert path.startswith(str(self.root)), (
                f"the Dockerfile uses {path}: add it to IMAGE_PATHS if the test is to move it"
            )
        return text

    def base_env(self, home: str) -> dict[str, str]:
        self.base_bin.mkdir(exist_ok=True)
        for name in ("python", "python3"):
            if not (self.base_bin / name).exists():
                (self.base_bin / name).symlink_to(Path(sys.executable).resolve())
        passed = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
        return {"PATH": f"{self.base_bin}:{BASE_PATH}", "HOME": home, "LANG": "C.UTF-8", **passed}

    def run(self) -> None:
        assert len(self.stages) == 2, "the test knows a build stage and the image's stage"
        build, final = self.stages
        assert build.base == final.base, "the venv must run on the Python it was built with"
        self._build_stage(build)
        self._final_stage(final, build)

    def _build_stage(self, stage: Stage) -> None:
        env = self.base_env(home=os.environ.get("HOME", "/root"))
        workdir = self.root
        for step in stage.steps:
            if step.keyword == "ENV":
                env.update({k: expand(self.host(v), env) for k, v in env_pairs(step).items()})
            elif step.keyword == "WORKDIR":
                workdir = Path(self.host(expand(step.args, env)))
                workdir.mkdir(parents=True, exist_ok=True)
            elif step.keyword == "COPY":
                *sources, dest = shlex.split(step.args)
                assert not any(s.startswith("--") for s in sources), f"line {step.line}: flags"
                self._copy_from_context(sources, workdir / dest, dest.endswith("/"))
            elif step.keyword == "RUN":
                assert step.exec_form() is None, f"line {step.line}: exec-form RUN"
                self._sh(self.host(step.args), env, workdir)
            else:
                pytest.fail(f"line {step.line}: the test cannot run {step.keyword} in a build")

    def _copy_from_context(self, sources: list[str], dest: Path, into: bool) -> None:
        assert into or len(sources) == 1, "COPY of several sources needs a directory"
        for source in sources:
            relative = os.path.normpath(source)
            origin = REPO / relative
            assert origin.exists(), f"COPY {source}: not in the build context"
            assert not excluded(relative, self.ignore), f"COPY {source}: .dockerignore'd"
            if origin.is_file():
                target = dest / origin.name if into else dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
                continue
            for path in sorted(origin.rglob("*")):
                inside = path.relative_to(REPO).as_posix()
                if path.is_file() and not excluded(inside, self.ignore):
                    target = dest / path.relative_to(origin)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)

    def _sh(self, command: str, env: dict[str, str], cwd: Path) -> None:
        started = time.monotonic()
        result = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.log.append(f"RUN {command} ({time.monotonic() - started:.1f} s)")
        assert result.returncode == 0, (
            f"RUN {command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )

    def _final_stage(self, stage: Stage, build: Stage) -> None:
        env = self.base_env(home="/nonexistent")  # the home of the user the image creates
        for step in stage.steps:
            if step.keyword == "ENV":
                env.update({k: expand(self.host(v), env) for k, v in env_pairs(step).items()})
            elif step.keyword == "RUN" and re.match(r"groupadd .*&& useradd ", step.args):
                self.log.append(f"skipped (needs root, changes this machine): RUN {step.args}")
            elif step.keyword == "COPY":
                words = shlex.split(step.args)
                assert words[0] == f"--from={build.name}", f"line {step.line}: not the venv"
                assert len(words) == 3, step
                assert words[1] == words[2], "a venv cannot move: it must keep its path"
                assert Path(self.host(words[1])).is_dir(), f"the build made no {words[1]}"
            elif step.keyword == "USER":
                self.user = step.args
            elif step.keyword == "EXPOSE":
                self.exposed += [int(p.split("/")[0]) for p in step.args.split()]
            elif step.keyword == "ENTRYPOINT":
                words = step.exec_form()
                assert words, "an exec-form ENTRYPOINT (signals reach the operator, not a shell)"
                self.entrypoint = words
            else:
                pytest.fail(f"line {step.line}: the test cannot run {step.keyword} in the image")
        self.final_env = env

    def command(self, *args: str) -> list[str]:
        """The ENTRYPOINT with ``args``, its program found on the image's PATH."""
        program, *rest = self.entrypoint
        found = shutil.which(program, path=self.final_env["PATH"])
        assert found, f"{program} is not on the image's PATH {self.final_env['PATH']}"
        return [found, *rest, *args]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Build:
    built = Build(tmp_path_factory.mktemp("image"))
    built.run()
    print("\n".join(built.log))  # shown with a failure: what ran, what was skipped
    return built


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The image's working directory: empty (the final stage sets none, so ``/``)."""
    empty = tmp_path / "cwd"
    empty.mkdir()
    return empty


def chart_container(helm: Helm) -> dict[str, Any]:
    container: dict[str, Any] = one(render(helm), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def test_the_dockerfile_is_one_this_test_knows_how_to_run() -> None:
    build, final = stages(DOCKERFILE.read_text())
    assert build.name, "the build stage has no name for the final stage to copy from"
    assert build.base == final.base
    assert [s.keyword for s in build.steps if s.keyword == "RUN"], "the build stage runs nothing"
    assert any(s.keyword == "ENTRYPOINT" for s in final.steps)
    ignore = ignore_patterns(DOCKERIGNORE.read_text())
    assert not excluded("operator/astra_operator/cli.py", ignore)
    assert excluded("operator/astra_operator/__pycache__/cli.cpython-311.pyc", ignore)
    assert excluded("operator/astra_operator.egg-info/SOURCES.txt", ignore)
    assert excluded("tests/conftest.py", ignore)
    assert excluded(".venv/bin/python", ignore)


def test_the_installed_entrypoint_names_the_settings_the_chart_sets(
    image: Build, workdir: Path, helm: Helm
) -> None:
    result = subprocess.run(
        image.command("--help"),
        cwd=workdir,
        env={**image.final_env, "COLUMNS": "1000"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    named = set(re.findall(r"ASTRA_[A-Z_]+", result.stdout))
    chart = {e["name"] for e in chart_container(helm)["env"] if e["name"].startswith("ASTRA_")}
    assert chart, "the chart sets no ASTRA_ settings"
    assert chart <= named, f"`run --help` does not name {sorted(chart - named)}"


def test_the_install_is_a_regular_byte_compiled_one_of_the_package_alone(
    image: Build, workdir: Path
) -> None:
    python = Path(image.command()[0]).with_name("python")
    probe = "import astra_operator, sys; print(astra_operator.__file__); print(sys.path)"
    result = subprocess.run(
        [str(python), "-c", probe],
        cwd=workdir,
        env=image.final_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    where, path = result.stdout.splitlines()
    venv = Path(image.host("/opt/venv"))
    package = Path(where).parent
    assert package.is_relative_to(venv / "lib"), f"astra_operator imported from {where}"
    assert str(REPO) not in path, f"the source tree is on the path: {path}"
    assert not list(venv.rglob("__editable__*")), "an editable install"
    # The chart mounts the root read-only: pip must have compiled the modules already.
    assert list((package / "handlers" / "__pycache__").glob("command.cpython-*.pyc"))
    assert image.final_env.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert image.user, "the image runs as root"
    uid = image.user.split(":")[0]
    assert uid.isdigit(), "a numeric USER: the kubelet checks runAsNonRoot without /etc/passwd"
    assert uid != "0"


def test_the_installed_operator_answers_the_charts_probe_and_stops_on_sigterm(
    image: Build,
    workdir: Path,
    helm: Helm,
    cluster: Cluster,
    crds_installed: list[str],
    namespace: str,
    sim: Sim,
    tmp_path: Path,
) -> None:
    container = chart_container(helm)
    get = container["livenessProbe"]["httpGet"]
    assert container["readinessProbe"]["httpGet"] == get, "both probes ask the same endpoint"
    [port] = [p["containerPort"] for p in container["ports"] if p["name"] == get["port"]]
    assert port in image.exposed, f"the image does not EXPOSE the probes' port {port}"
    served = f"0.0.0.0:{port}{get['path']}"
    assert f"--liveness=http://{served}" in container["args"], "the operator serves no probe"
    local = plane.free_port()  # not the chart's port: this machine may be running anything
    args = [a.replace(f"0.0.0.0:{port}", f"127.0.0.1:{local}") for a in container["args"]]
    chart_env = container_env(container, namespace)
    others = {str(p["containerPort"]) for p in container["ports"]} - {str(port)}
    for name, value in chart_env.items():  # any other port the chart has the operator serve
        if value in others:
            chart_env[name] = str(plane.free_port())
    env = {
        **image.final_env,
        **chart_env,
        "ASTRA_NAMESPACES": namespace,  # the chart's default is every namespace: only ours here
        "ASTRA_API_URL": sim.url,
        "KUBECONFIG": str(cluster.kubeconfig),
    }
    log = tmp_path / "operator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            image.command(*args), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{local}{get['path']}"
        status: int | None = None
        leading = False  # a standby answers the probe too, before kopf (and its clean-up) runs
        deadline = time.monotonic() + 60
        while not leading and proc.poll() is None and time.monotonic() < deadline:
            try:
                answer = httpx.get(url, timeout=2)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            status = answer.status_code
            leading = status == 200 and "standby" not in answer.json()
            if not leading:
                time.sleep(0.2)
        assert leading, f"{url} answered {status}; exit {proc.poll()}\n{log.read_text()}"
        assert proc.poll() is None, f"the operator exited\n{log.read_text()}"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(40)  # kopf's own deadline after SIGTERM is 25 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = log.read_text(errors="replace")
    assert code == 0, f"exit {code} after SIGTERM\n{text}"
    assert "Traceback" not in text, text
    assert re.search(r"cleanup.{0,20}succeeded", text), f"no clean-up ran\n{text}"
