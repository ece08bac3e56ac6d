"""Core types every layer shares: protocols, messages, effort levels, errors, events, tool specs
and the layered configuration. Imports no sibling.
"""
