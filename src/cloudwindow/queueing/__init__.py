"""Queueing: pure routing decisions, wait estimates and Erlang staffing formulas."""
