"""Visit records: writing, locking, correcting, confirming, and who may read them."""
