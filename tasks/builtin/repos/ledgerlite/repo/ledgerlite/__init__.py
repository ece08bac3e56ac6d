"""A tiny ledger: money values, transactions, CSV and reports."""

from ledgerlite.ledger import Ledger, Transaction
from ledgerlite.money import Money, allocate

__all__ = ["Ledger", "Money", "Transaction", "allocate"]
