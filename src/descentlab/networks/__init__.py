"""Figure 6.1 for a real network: record a PyTorch run, cut a plane through parameter space, draw.

(The coordinator fills in the public API once the modules land.)
"""
