"""How much one Reply may hold: one set of limits that the core writes to and every renderer can show.

They are Discord's embed limits (counted in code points, as len() counts), the strictest place a whole reply
must fit, except the footer: Discord takes 2048 characters, but a footer that long would crowd the fields out
of the 6000 in total, so replies spend at most 1024 on it and the renderer holds them to that too. Slack's renderer spreads the same Reply over blocks with their own, per-block limits (a 150-character
header, 10 fields per section) and cuts only there; the terminal has none.
"""

from __future__ import annotations

TITLE_MAX = 256
SUMMARY_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FIELDS_MAX = 25
FOOTER_MAX = 1024  # Discord allows 2048; see above
TOTAL_MAX = 6000  # title + summary + field names and values + footer, together
