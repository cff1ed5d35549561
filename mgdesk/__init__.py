"""mgdesk: find near-duplicate photos, search by example and tag albums, offline."""

__version__ = "0.1.0"
