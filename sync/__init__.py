"""What the laptop and the central service share: the wire protocol, record shapes, merge
rules and the laptop's sync engine. Imports nothing from ``app`` or ``server`` and no Qt."""
