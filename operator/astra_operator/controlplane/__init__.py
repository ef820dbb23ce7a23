"""A real kube-apiserver + etcd (and helm) for tests and ``astra-operator dev``, envtest-style.

Nothing in the operator path imports this package.
"""
