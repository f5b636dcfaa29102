"""Reports, retention and the subject-access export."""
