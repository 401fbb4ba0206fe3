"""A process's own peak resident memory, for the memory tests that run code in a fresh interpreter.

``ru_maxrss`` of a child also counts the pages it shared with its parent at fork (a pytest process of
1.4 GB makes every child look 1.4 GB); ``VmHWM`` in /proc/self/status belongs to the process's own
address space, which exec replaced. ``OWN_PEAK`` is source to put at the top of such a script.
"""

OWN_PEAK = (
    "def own_peak():\n"
    "    with open('/proc/self/status') as status:\n"
    "        return next(int(line.split()[1]) for line in status if line.startswith('VmHWM')) * 1024\n"
)
