"""The web layer: security headers, CSRF, embedding, the extension, storage and requests."""
