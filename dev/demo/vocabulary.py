"""The words the demo's rows are made of.

None holds a tab, newline or backslash: the generator relies on that to write COPY text
without escaping.
"""

FIRST_NAMES = ("ada", "alan", "grace", "linus", "margaret", "ken", "barbara", "dennis", "frances", "edsger", "radia", "guido")
LAST_NAMES = ("lovelace", "turing", "hopper", "torvalds", "hamilton", "thompson", "liskov", "ritchie", "allen", "dijkstra")
CITIES = ("Milano", "Torino", "Bologna", "Lyon", "Berlin", "Porto", "Gent", "Graz", "Malmo", "Cork")
COUNTRIES = ("IT", "FR", "DE", "PT", "BE", "AT", "SE", "IE")
ADJECTIVES = ("red", "quiet", "sturdy", "light", "vintage", "smart", "compact", "organic", "deluxe", "classic")
NOUNS = ("lamp", "chair", "kettle", "backpack", "notebook", "bicycle", "speaker", "teapot", "jacket", "clock")
COLORS = ("black", "white", "green", "blue", "amber", "grey")
NOTES = ("leave at the door", "leave at the desk", "ring the neighbour")
STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
#: Order statuses, repeated by weight so one draw picks them in proportion.
STATUS_DRAW = ("pending",) * 2 + ("paid",) * 3 + ("shipped",) * 4 + ("delivered",) * 9 + ("cancelled",) * 2
