"""Synthetic published initiatives in bulk, to benchmark the list, facets and search at scale
(manage.py seed_synthetic).

- draws.py: weighted random draws;
- words.py, services.py, templates.py, organisations.py: the word lists, sector services,
  sentence templates and organisation names and roles the records are drawn from (data only);
- generate.py: the Generator, which draws the records and saves them in batches.
"""
