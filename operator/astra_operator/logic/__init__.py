"""Pure decisions: typed spec + observed state in, conditions/status/plans out. No I/O, no async."""
