"""astra-operator: manage DataStax Astra DB declaratively from Kubernetes."""

__version__ = "0.1.0"
