"""The policy file: schema, loader, inheritance."""
