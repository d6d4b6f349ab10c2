"""End-to-end tests: a real ``dsr serve`` subprocess, spoken to over HTTP, with its sandbox."""
