"""Tests of the DevOps API v2 simulator over real HTTP."""
