"""Runtimes: the adapters that execute run attempts (jangar.server.core.runtime is their port)."""
