"""Look-alike letters from other scripts (after case folding) and the letters they pass for."""

from __future__ import annotations

HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ɡ": "g", "ո": "n", "ս": "u", "ӏ": "l", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ъ": "b", "ь": "b", "г": "r", "п": "n", "и": "u", "л": "n", "ц": "u",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "σ": "o", "ς": "s", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    "μ": "u", "δ": "d", "θ": "o", "λ": "l",
    # Latin look-alikes outside a-z
    "ı": "i", "ȷ": "j", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t",
}

# Look-alike letters count as the letters they stand for ("к!ll"): the Unicode table maps
# them later, and testing for them here gives the same result as mapping them first.
LETTER = "[a-z" + "".join(HOMOGLYPHS) + "]"
LETTER_OR_DIGIT = "[a-z0-9" + "".join(HOMOGLYPHS) + "]"
