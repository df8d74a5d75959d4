"""Map layers of the community app (registered when imported)."""
