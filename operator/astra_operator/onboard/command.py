"""``astra-operator export``: print manifests that adopt an organization's databases and roles.

Reads the DevOps API (every page of the database list, the role list, the organization) or a
terraform-provider-astra state file, maps them with ``mapping`` and writes one YAML stream to
stdout; what is not exported is said on stderr, one line each. Exit status 0, or 1 with a
one-line error (a refused token, an API that cannot be reached, a Secret or file that cannot
be read). The token is never printed: errors name where it was read from.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from astra_operator import config
from astra_operator.astra import client, errors, models, retry
from astra_operator.logic import credentials
from astra_operator.onboard import mapping, specs, terraform
from astra_operator.resources import common

PROG: Final = "astra-operator export"
TOKEN_ENV: Final = "ASTRA_TOKEN"
KINDS: Final = ("databases", "roles", "all")
_SECRET_REF: Final = re.compile(
    r"^(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/(?P<name>[a-z0-9]([-a-z0-9.]*[a-z0-9])?)"
    r"(:(?P<key>[-._a-zA-Z0-9]+))?$"
)
_RETRY: Final = retry.RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=5.0)
"""A command waits a little, not like the operator's passes."""


class ExportError(Exception):
    """Why the export failed, in one line for stderr."""


@dataclasses.dataclass(frozen=True)
class SecretRef:
    """--token-secret NAMESPACE/NAME[:KEY]."""

    namespace: str
    name: str
    key: str | None


@dataclasses.dataclass(frozen=True)
class Source:
    """What was read: Astra objects, the organization, and how to say where from."""

    databases: tuple[models.Database, ...]
    roles: tuple[models.Role, ...]
    org_id: str | None
    description: str
    protected: frozenset[str] = frozenset()
    addresses: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """Terraform addresses by Astra ID (from a state file)."""
    notes: tuple[str, ...] = ()
    """What the source held that is not exported (a state's other resources)."""


def _secret_ref(value: str) -> SecretRef:
    match = _SECRET_REF.match(value)
    if not match:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not NAMESPACE/NAME[:KEY] (e.g. astra-operator/astra-credentials:token)"
        )
    return SecretRef(match["ns"], match["name"], match["key"])


def _namespace(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", value) or len(value) > 63:
        raise argparse.ArgumentTypeError(f"{value!r} is not a namespace name (a DNS-1123 label)")
    return value


def _object_name(value: str) -> str:
    if not re.fullmatch(common.DNS_SUBDOMAIN_PATTERN, value) or len(value) > 253:
        raise argparse.ArgumentTypeError(f"{value!r} is not a Kubernetes object name")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Print AstraDatabase and AstraRole manifests (a multi-document YAML stream,"
        " for kubectl apply -f - or a Git commit) that adopt the databases and custom roles an"
        " Astra organization already has, as they are: each by its ID, with deletionPolicy"
        " Retain, so that applying them makes the operator write nothing to Astra. What cannot"
        " be expressed is not exported, and said on stderr.",
        epilog="The token: --token-env VAR, --token-secret NAMESPACE/NAME[:KEY], else the"
        f" environment variable {TOKEN_ENV}; it is never printed (with --terraform-state none is"
        " needed). Exit status: 0 when the stream was written (skipped objects included), 1"
        " with a one-line error when the token is refused, the API cannot be reached or the"
        " Secret or state file cannot be read, 2 for a usage error. Example: astra-operator"
        " export --namespace team-a --observe > team-a.yaml && kubectl apply -f team-a.yaml",
    )
    add = parser.add_argument
    add(
        "--namespace",
        metavar="NS",
        default="default",
        type=_namespace,
        help="metadata.namespace of every manifest (default: default)",
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--token-env",
        metavar="VAR",
        help=f"read the Astra token from the environment variable VAR (default: {TOKEN_ENV})",
    )
    token.add_argument(
        "--token-secret",
        metavar="NAMESPACE/NAME[:KEY]",
        type=_secret_ref,
        help="read the Astra token from this Secret through the kubeconfig ($KUBECONFIG or"
        " ~/.kube/config); KEY defaults to ASTRA_CREDENTIALS_KEY, else token",
    )
    add(
        "--api-url",
        metavar="URL",
        help=f"DevOps API base URL (default: ASTRA_API_URL, else {config.DEFAULT_API_URL})",
    )
    add(
        "--credentials-secret",
        metavar="NAME",
        type=_object_name,
        help="set spec.credentials.secretRef.name to NAME (a Secret in --namespace); default:"
        " none, the objects use the operator's default token",
    )
    add(
        "--observe",
        action="store_true",
        help="set managementPolicy: Observe: the operator only reads and reports differences"
        " (switch to Full later to let it manage)",
    )
    add(
        "--kind",
        choices=KINDS,
        default="all",
        help="what to export: databases, roles or all (default: all)",
    )
    add(
        "--terraform-state",
        metavar="FILE",
        type=Path,
        help="read a terraform-provider-astra state file (format version 4: astra_database,"
        " astra_role, astra_keyspace) instead of the API; no token needed",
    )
    return parser


def _token(args: argparse.Namespace, env: Mapping[str, str], key: str) -> tuple[str, str]:
    """The token and where it came from (for messages)."""
    if args.token_secret is not None:
        ref: SecretRef = args.token_secret
        where = f"Secret {ref.namespace}/{ref.name} key {ref.key or key!r}"
        value = asyncio.run(_read_secret(ref, ref.key or key, where))
    else:
        var = args.token_env or TOKEN_ENV
        where = f"environment variable {var}"
        if var not in env and args.token_env is None:
            raise ExportError(
                f"no Astra token: set {TOKEN_ENV}, or pass --token-env VAR or --token-secret"
                " NAMESPACE/NAME[:KEY] (or --terraform-state FILE, which needs none)"
            )
        if var not in env:
            raise ExportError(f"no Astra token: the {where} is not set")
        value = env[var]
    problem = credentials.problem(value)
    if problem:
        raise ExportError(f"the Astra token in {where} {problem}")
    return value.strip(), where


async def _read_secret(ref: SecretRef, key: str, where: str) -> str:
    from kubernetes import client as k8s  # only this path needs the Kubernetes client
    from kubernetes import config as k8s_config

    from astra_operator.kube import api as kube_api

    try:
        api_client = kube_api.load_api_client(pool_size=1)
    except k8s_config.ConfigException as exc:
        raise ExportError(
            f"cannot read the token from {where}: no usable kubeconfig ($KUBECONFIG or"
            f" ~/.kube/config) and not running in a cluster ({exc})"
        ) from None
    kube = kube_api.Kube(
        api_client,
        workers=1,
        who="Your kubeconfig's user",
        rbac_hint="it needs get on Secrets in that namespace (kubectl auth can-i get secrets"
        f" -n {ref.namespace})",
    )
    try:
        return await kube.read_secret_value(ref.namespace, ref.name, key)
    except kube_api.SecretUnavailable as exc:
        raise ExportError(f"cannot read the token from {where}: {exc}") from None
    except k8s.ApiException as exc:
        raise ExportError(f"cannot read the token from {where}: HTTP {exc.status}") from None
    except (kube_api.KubeUnavailable, UnicodeDecodeError, ValueError) as exc:
        raise ExportError(f"cannot read the token from {where}: {exc}") from None
    finally:
        kube.close()
        api_client.close()  # type: ignore[no-untyped-call]


async def _from_api(url: str, token: str, where: str, kind: str) -> Source:
    async with client.AstraClient(url, token=token, retry=_RETRY) as astra:
        try:
            org = await astra.current_organization()
            databases = await astra.list_databases() if kind != "roles" else []
            roles = await astra.list_roles() if kind != "databases" else []
        except errors.Unauthorized as exc:
            raise ExportError(
                f"the DevOps API at {url} refused the token from {where} (HTTP 401 on"
                f" {exc.method} {exc.path}): is it a valid application token, allowed to"
                " view the organization's databases (org-db-view) and roles (org-role-read)?"
            ) from None
        except errors.TransportError as exc:
            raise ExportError(f"cannot reach the DevOps API at {url}: {exc}") from None
        except errors.AstraError as exc:
            raise ExportError(f"the DevOps API at {url} failed: {exc}") from None
    named = f" ({org.name})" if org.name else ""
    return Source(
        databases=tuple(databases),
        roles=tuple(roles),
        org_id=org.id,
        description=f"Astra organization {org.id}{named} through {url}",
    )


def _from_state(path: Path, kind: str) -> Source:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from None
    try:
        state = terraform.load(text, str(path))
    except terraform.StateError as exc:
        raise ExportError(str(exc)) from None
    org = f"organization {state.org_id}" if state.org_id else "organization not recorded"
    version = f"Terraform {state.terraform_version}, " if state.terraform_version else ""
    databases = state.databases if kind != "roles" else ()
    roles = state.roles if kind != "databases" else ()
    return Source(
        databases=databases,
        roles=roles,
        org_id=state.org_id,
        description=f"Terraform state {path} ({version}{org})",
        protected=state.protected,
        addresses=state.addresses,
        notes=state.notes,
    )


def _handover(source: Source, result: mapping.Export) -> list[str]:
    """Comment lines: which Terraform resources to forget once this is applied."""
    addresses = [a for m in result.manifests for a in source.addresses.get(m.astra_id, ())]
    if not addresses:
        return []
    return [
        "",
        "Hand over from Terraform once these are applied and Ready, so that Terraform no",
        "longer manages them (it would otherwise fight the operator, or destroy them):",
        *(f"  terraform state rm '{a}'" for a in addresses),
    ]


def _run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    try:
        settings = config.OperatorConfig.from_env(env)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    if args.observe and not specs.observe_supported():
        raise ExportError("--observe: this operator version has no spec.managementPolicy")
    if args.terraform_state is not None:
        source = _from_state(args.terraform_state, args.kind)
    else:
        token, where = _token(args, env, settings.credentials_key)
        url = (args.api_url or settings.api_url).rstrip("/")
        source = asyncio.run(_from_api(url, token, where, args.kind))
    options = specs.Options(args.namespace, args.credentials_secret, args.observe)
    result = mapping.export(
        source.databases,
        source.roles,
        org_id=source.org_id,
        options=options,
        protected=source.protected,
    )
    result = dataclasses.replace(result, notes=(*source.notes, *result.notes))
    for line in (*result.skipped, *result.notes):
        print(line, file=sys.stderr)
    when = datetime.now(UTC)
    lines = mapping.header(source=source.description, when=when, result=result, options=options)
    sys.stdout.write(mapping.render(result, lines + _handover(source, result)))
    return 0


def main(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Entry point of ``astra-operator export``; returns the exit status."""
    args = _parser().parse_args(list(argv))
    try:
        return _run(args, os.environ if env is None else env)
    except ExportError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
