"""The session screen's panes."""
