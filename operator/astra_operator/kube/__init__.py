"""Kubernetes side effects beyond what kopf does for the handled object."""
