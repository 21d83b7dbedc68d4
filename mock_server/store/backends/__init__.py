"""Every module here is a store backend that registers its URL scheme; `registry.backends()` imports them all."""
