"""The thin shell over real tools: Open vSwitch, Mininet, tc, the controller process, cleanup.

Everything here runs commands as argument lists (never through a shell) and
needs root; everything it needs to know comes from the plan.
"""
