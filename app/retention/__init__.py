"""Retention: the policy's sweep, housekeeping of the service's own data, and their jobs."""
