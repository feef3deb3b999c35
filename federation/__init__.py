"""Federation: signing, keys, X-Matrix auth, transactions, outbound queue, remote joins."""
