"""Transactions and the ledger that holds them."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from ledgerlite.money import Money


class Transaction:
    """One movement of money on one account."""

    __slots__ = ("account", "amount", "date", "memo")

    def __init__(self, date: str, account: str, amount: Money, memo: str = "") -> None:
        self.date = date
        self.account = account
        self.amount = amount
        self.memo = memo

    def __repr__(self) -> str:
        return (
            f"Transaction(date={self.date!r}, account={self.account!r}, amount={self.amount!r}, memo={self.memo!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Transaction):
            return NotImplemented
        return (self.date, self.account, self.amount, self.memo) == (
            other.date,
            other.account,
            other.amount,
            other.memo,
        )

    def __hash__(self) -> int:
        return hash((self.date, self.account, self.amount, self.memo))


class Ledger:
    def __init__(self, transactions: Iterable[Transaction] | None = None) -> None:
        self._transactions: list[Transaction] = list(transactions or [])

    def add(self, transaction: Transaction) -> None:
        self._transactions.append(transaction)

    def entries(self, account: str | None = None) -> list[Transaction]:
        """Transactions in date order, all of them or those of `account`."""
        chosen = [t for t in self._transactions if account is None or t.account == account]
        return sorted(chosen, key=lambda t: t.date)

    def transactions(self, account: str | None = None) -> list[Transaction]:
        """Deprecated name of `entries`."""
        warnings.warn("Ledger.transactions() is deprecated: use Ledger.entries()", DeprecationWarning, stacklevel=2)
        return self.entries(account)

    def accounts(self) -> list[str]:
        return sorted({t.account for t in self._transactions})

    def balance(self, account: str) -> Money:
        entries = self.entries(account)
        if not entries:
            raise KeyError(f"no transactions on account {account!r}")
        total = Money(0, entries[0].amount.currency)
        for entry in entries:
            total = total + entry.amount
        return total
