from ledgerlite import Ledger, Money, Transaction


def make_ledger():
    ledger = Ledger()
    ledger.add(Transaction("2024-01-05", "cash", Money("-3.50", "EUR"), "coffee"))
    ledger.add(Transaction("2024-01-01", "cash", Money("100", "EUR"), "withdrawal"))
    ledger.add(Transaction("2024-01-02", "bank", Money("-100", "EUR"), "withdrawal"))
    return ledger


def test_balance_per_account():
    assert make_ledger().balance("cash") == Money("96.50", "EUR")


def test_entries_in_date_order():
    assert [t.memo for t in make_ledger().entries("cash")] == ["withdrawal", "coffee"]


def test_accounts_sorted():
    assert make_ledger().accounts() == ["bank", "cash"]
