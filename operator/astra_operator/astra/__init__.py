"""Async client for the Astra DevOps API v2: the only package that speaks HTTP to Astra.

Import its modules, not names: ``client`` (``AstraClient``), ``errors``, ``models``, ``retry``.
This file deliberately imports nothing, so that pure layers can use ``models`` and ``errors``
without pulling httpx in.
"""
