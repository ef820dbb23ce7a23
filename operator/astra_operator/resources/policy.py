"""The deletion guard: an admission policy that refuses deleting a protected AstraDatabase.

A ``ValidatingAdmissionPolicy`` and its ``ValidatingAdmissionPolicyBinding``
(admissionregistration.k8s.io/v1, Kubernetes 1.30+) make the API server itself refuse a DELETE
of an AstraDatabase whose stored object has ``spec.deletionProtection: true`` and a
``deletionPolicy`` other than an explicit ``Retain`` (unset means the operator's default, which
the API server cannot know, so it counts as Delete). The operator's finalizer check stays as the
second line. ``crdgen`` writes the one definition here twice: a kubectl-only manifest under
``crds/policies/`` (outside the ``crds/*.yaml`` the chart copies) and the chart's template,
gated by the value ``deletionGuard.enabled``. Pure: builds dicts and text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import yaml

from astra_operator.resources import common, database

NAME: Final = "astra-operator-deletion-guard"
"""The policy and binding of the kubectl-only manifest (the chart's release ``astra-operator``
renders the same name)."""
MANIFEST: Final = Path("policies") / "deletion-guard.yaml"
"""Where the kubectl-only manifest goes, relative to the CRD directory."""
TEMPLATE: Final = Path("templates") / "deletion-guard.yaml"
"""Where the chart template goes, relative to the chart."""
VALUE: Final = "deletionGuard.enabled"
MIN_KUBERNETES: Final = "1.30"
API_VERSION: Final = "admissionregistration.k8s.io/v1"

_OLD: Final = "oldObject"  # for DELETE, CEL sees the stored object here; `object` is null
PROTECTED: Final = (
    f"has({_OLD}.spec) && has({_OLD}.spec.deletionProtection)"
    f" && {_OLD}.spec.deletionProtection == true"
)
RETAINED: Final = f"has({_OLD}.spec.deletionPolicy) && {_OLD}.spec.deletionPolicy == 'Retain'"
_PATCH: Final = """--type=merge -p \\'{"spec":{"deletionProtection":false}}\\'"""
MESSAGE: Final = (
    f"'{database.KIND} ' + {_OLD}.metadata.namespace + '/' + {_OLD}.metadata.name"
    " + ' has spec.deletionProtection: true: set it to false first (kubectl -n '"
    f" + {_OLD}.metadata.namespace + ' patch {database.SHORT_NAME} ' + {_OLD}.metadata.name"
    f" + ' {_PATCH}), or set spec.deletionPolicy: Retain to keep the Astra database'"
)
"""CEL for what ``kubectl delete`` prints, e.g. ``AstraDatabase team-a/orders has
spec.deletionProtection: true: set it to false first (kubectl -n team-a patch adb orders
--type=merge -p '{"spec":{"deletionProtection":false}}'), or set spec.deletionPolicy: Retain to
keep the Astra database``."""


def policy_spec() -> common.JsonDict:
    """The ValidatingAdmissionPolicy's spec: DELETE of astradatabases, denied when protected."""
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [common.GROUP],
                    "apiVersions": ["*"],
                    "operations": ["DELETE"],
                    "resources": [database.PLURAL],
                }
            ]
        },
        "variables": [
            {"name": "protected", "expression": PROTECTED},
            {"name": "retained", "expression": RETAINED},
        ],
        "validations": [
            {
                "expression": "!variables.protected || variables.retained",
                "messageExpression": MESSAGE,
                "reason": "Forbidden",
            }
        ],
    }


def binding_spec(policy_name: str) -> common.JsonDict:
    """The binding's spec: every namespace, refused requests denied (not only warned)."""
    return {"policyName": policy_name, "validationActions": ["Deny"]}


def documents(name: str = NAME) -> list[common.JsonDict]:
    """The policy and its binding, both named ``name``, as applied by kubectl."""
    labels: common.JsonDict = {"app.kubernetes.io/name": "astra-operator"}
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name, "labels": labels},
            "spec": policy_spec(),
        },
        {
            "apiVersion": API_VERSION,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name, "labels": dict(labels)},
            "spec": binding_spec(name),
        },
    ]


def _dump(data: common.JsonDict) -> str:
    return yaml.safe_dump(data, sort_keys=True, allow_unicode=True, width=100, indent=2)


_ABOUT: Final = f"""\
# The deletion guard: the API server refuses to delete an {database.KIND} whose spec has
# deletionProtection: true, unless its deletionPolicy is Retain (docs/operations.md, "Deletion
# protection by the API server"). Kubernetes {MIN_KUBERNETES}+. Without Helm:
#   kubectl apply -f crds/{MANIFEST.as_posix()}
# (the chart installs the same policy unless {VALUE}=false).
"""


def render_manifest(header: str) -> str:
    """``crds/policies/deletion-guard.yaml``: ``kubectl apply -f`` it (Kubernetes 1.30+)."""
    return header + _ABOUT + "---\n".join(_dump(doc) for doc in documents())


_FULLNAME: Final = '{{ include "astra-operator.fullname" . }}-deletion-guard'
_PLACEHOLDER: Final = "ASTRA_OPERATOR_DELETION_GUARD_NAME"


def _template_doc(kind: str, spec: common.JsonDict) -> str:
    body = _dump({"spec": spec})
    if "{{" in body:  # Helm would read it as an action
        raise ValueError(f"{kind} spec contains '{{{{'")
    return (
        _dump({"apiVersion": API_VERSION, "kind": kind})
        + "metadata:\n"
        + f"  name: {_FULLNAME}\n"
        + "  labels:\n"
        + '    {{- include "astra-operator.labels" . | nindent 4 }}\n'
        + body.replace(_PLACEHOLDER, _FULLNAME)
    )


def render_template(command: str) -> str:
    """``helm/astra-operator/templates/deletion-guard.yaml``: the same specs, named after the
    release, rendered when ``deletionGuard.enabled`` (refused below Kubernetes 1.30)."""
    refusal = (
        f"{VALUE} needs Kubernetes {MIN_KUBERNETES} or later ({API_VERSION}"
        " ValidatingAdmissionPolicy): set deletionGuard.enabled=false (the operator's finalizer"
        " still keeps protected databases)"
    )
    return (
        f"{{{{- /* Generated by `{command}` from astra_operator.resources. Do not edit. */ -}}}}\n"
        f"{{{{- if .Values.{VALUE} }}}}\n"
        f'{{{{- if semverCompare "<{MIN_KUBERNETES}.0-0" .Capabilities.KubeVersion.Version }}}}\n'
        f'{{{{- fail "{refusal}" }}}}\n'
        "{{- end }}\n"
        + _template_doc("ValidatingAdmissionPolicy", policy_spec())
        + "---\n"
        + _template_doc("ValidatingAdmissionPolicyBinding", binding_spec(_PLACEHOLDER))
        + "{{- end }}\n"
    )
