"""A plain-text balance report."""

from ledgerlite.ledger import Ledger


def balance_report(ledger: Ledger) -> str:
    lines = []
    for account in ledger.accounts():
        count = len(ledger.transactions(account))
        lines.append(f"{account:<12} {ledger.balance(account)!s:>14}  ({count} entries)")
    return "\n".join(lines)
