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


def test_new_ledgers_do_not_share_transactions():
    first = Ledger()
    first.add(Transaction("2024-01-03", "cash", Money("5", "EUR")))
    assert Ledger().entries() == []


def test_ledger_does_not_modify_the_initial_list():
    initial = [Transaction("2024-01-01", "cash", Money("1", "EUR"))]
    ledger = Ledger(initial)
    ledger.add(Transaction("2024-01-02", "cash", Money("2", "EUR")))
    assert len(initial) == 1
    assert len(ledger.entries()) == 2
