from ledgerlite import Ledger, Money, Transaction
from ledgerlite.report import balance_report


def test_balance_report_lines():
    ledger = Ledger([Transaction("2024-01-01", "cash", Money("5", "EUR"))])
    assert balance_report(ledger) == "cash" + " " * 15 + "5.00 EUR  (1 entries)"
