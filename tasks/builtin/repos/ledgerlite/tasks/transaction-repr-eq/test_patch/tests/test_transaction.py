from ledgerlite import Money, Transaction


def test_transaction_repr():
    t = Transaction("2024-01-05", "cash", Money("-3.50", "EUR"), "coffee")
    assert repr(t) == "Transaction(date='2024-01-05', account='cash', amount=Money('-3.50', 'EUR'), memo='coffee')"


def test_transactions_with_same_fields_are_equal():
    a = Transaction("2024-01-05", "cash", Money("-3.50", "EUR"), "coffee")
    b = Transaction("2024-01-05", "cash", Money("-3.5", "eur"), "coffee")
    assert a == b
    assert len({a, b}) == 1


def test_transactions_differ_by_memo():
    assert Transaction("2024-01-05", "cash", Money("1", "EUR"), "a") != Transaction("2024-01-05", "cash", Money("1", "EUR"), "b")


def test_transaction_not_equal_to_other_types():
    assert Transaction("2024-01-05", "cash", Money("1", "EUR")) != ("2024-01-05", "cash")
