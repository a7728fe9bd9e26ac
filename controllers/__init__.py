"""The OpenFlow controller: pure flow computation (flows.py, slow_path.py) and a thin os-ken app."""
