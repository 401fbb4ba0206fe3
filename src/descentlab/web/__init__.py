"""The web side of descentlab: Plotly views of a scene (:mod:`.figures`) and the Dash explorer (:mod:`.app`).

Needs the ``web`` extra: ``pip install 'descentlab[web]'``.
"""
