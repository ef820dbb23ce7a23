"""``astra-operator export``: manifests that adopt the databases and roles an organization has.

``specs`` (one Astra database or role to the spec that adopts it), ``names`` (Kubernetes
object names), ``mapping`` (many of them to manifests and a YAML stream) and ``terraform`` (a
terraform-provider-astra state file to the same Astra objects) are pure; ``command`` does the
I/O (the DevOps API, a Secret, files, stdout and stderr).
Nothing in the operator path imports this package.
"""
