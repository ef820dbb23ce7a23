"""Async orchestration: observe (astra, kube) -> decide (logic) -> act -> Outcome."""
