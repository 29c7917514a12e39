"""AWS I/O, one module per service. Functions here are dumb `get_*`/`list_*` calls that return plain
dicts; deciding what the data means happens in pure modules (review.py, posture checks)."""
