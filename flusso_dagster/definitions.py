"""The code location `dagster dev` loads from workspace.yaml.

Index assets, the live job and its sensor arrive with the Dagster issue; until then the location
loads empty so the UI and the instance storage can be exercised end to end.
"""

import dagster as dg

defs = dg.Definitions()
