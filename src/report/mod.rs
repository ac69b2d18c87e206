//! Output: coloured text for people, JSON / JSON lines for scripts.
