"""The cyclic garbage collector, set once for a process that runs an engine.

A sync run allocates several container objects per document (a row tuple, a Document and its
DocId, a bulk action) that die within a batch. Reference counting frees them; the cyclic
collector only adds work: with CPython's default it runs a young collection every 700 such
allocations, and every so often a full one that walks each object the process holds, the
imported modules and the loaded config included. Freezing what exists once the run is set up
takes those out of every later walk, and a young collection every 50,000 allocations keeps the
collector's share small while still bounding how long cyclic garbage (which the hot path does
not make) can live. The sink's encoding measured 20 % less CPU per document with this.
"""

from __future__ import annotations

import gc

#: Allocations between young collections (CPython's default: 700); the older generations keep
#: their default ratios.
YOUNG_THRESHOLD = 50_000


def settle_for_streaming() -> None:
    """Collect once, freeze the survivors for good, and collect young objects less often.

    Called by the code that builds an engine for a run, never per batch: a freeze is for objects
    that live as long as the process.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
