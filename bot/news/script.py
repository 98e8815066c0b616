"""The characters Persian text is made of, as character-class bodies for regular expressions."""

import re

ZWNJ = "\u200c"
"""The half-space (zero-width non-joiner)."""

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"

LETTER = "\u0620-\u063f\u0641-\u065f\u066e-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06fc\u06ff\u0670"
"""Letters of the Arabic script as Persian uses them, with the combining marks that may sit on
them; a ZWNJ is meaningful only between two of these."""

DIGIT = "0-9\u0660-\u0669\u06f0-\u06f9"
"""ASCII, Arabic-Indic and Persian digits."""

LETTER_SET = frozenset(re.findall(f"[{LETTER}]", "".join(map(chr, range(0x600, 0x700)))))
"""The same letters as a set, for checking one character without a regular expression."""
