"""Server-rendered pages of the core, split by meaning: account, pages (home and the
jurisdiction switcher), regions, organizations, people and tokens."""
