"""kopf wiring: the only package that imports kopf. Thin: parse, call a reconciler, write."""
