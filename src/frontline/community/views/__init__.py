"""Pages of the community app."""
